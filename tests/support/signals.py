"""Where signals go, for tests: a local webhook receiver, and a reader of `threadline.signals`."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import orjson
from kafka import KafkaConsumer

from schemas import topics


class Hook:
    """A local webhook receiver: refuses the first request with 503, then accepts."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.calls = 0
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                hook.calls += 1
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if hook.calls == 1:
                    self.send_response(503)
                else:
                    hook.bodies.append(orjson.loads(body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/signals"


@contextmanager
def serving_hook() -> Iterator[Hook]:
    """A `Hook` listening on a free loopback port until the block ends."""
    h = Hook()
    thread = threading.Thread(target=h.server.serve_forever, daemon=True)
    thread.start()
    yield h
    h.server.shutdown()
    h.server.server_close()


def consume(bootstrap: str, wanted: set[str]) -> list[dict[str, Any]]:
    """Every signal of `wanted` customers on `threadline.signals`, from the start."""
    consumer = KafkaConsumer(
        topics.SIGNALS,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=10_000,
    )
    try:
        out = []
        for record in consumer:
            payload = orjson.loads(record.value)
            if payload["customer_id"] in wanted:
                assert record.key == payload["customer_id"].encode()
                out.append(payload)
        return out
    finally:
        consumer.close()
