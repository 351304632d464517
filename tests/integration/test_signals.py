"""Moments-of-truth signals end to end: rules over stored timelines, the outbox to the real
broker and to a webhook (first answer 503, then 200), the profile badge route."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import orjson
import pytest
from kafka import KafkaConsumer
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from schemas import topics
from services.insights import InsightsSettings, run_signals
from tests.integration.test_insights import write
from tests.support.api import AGENT, api_client, api_settings
from tests.support.journeys import AS_OF, SIGNALS, journey_set

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


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


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    thread = threading.Thread(target=h.server.serve_forever, daemon=True)
    thread.start()
    yield h
    h.server.shutdown()
    h.server.server_close()


@pytest.fixture
async def client(clean_db: str, engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(create_app(api_settings(clean_db), engine=engine), AGENT) as c:
        yield c


def consume(bootstrap: str, wanted: set[str]) -> list[dict[str, Any]]:
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


async def test_signals_reach_kafka_the_webhook_and_the_badge_once(
    clean_db: str, kafka_bootstrap: str, engine: AsyncEngine, client: httpx.AsyncClient, hook: Hook
) -> None:
    journeys = journey_set(per_script=2)
    ids = await write(engine, journeys)
    recent = InsightsSettings(database_url=clean_db, kafka_bootstrap=kafka_bootstrap)
    # Moments two months old are no moments to act on: none is raised.
    assert run_signals(recent, as_of=AS_OF) == {"new": 0, "published": 0, "webhook": 0}
    settings = InsightsSettings(
        database_url=clean_db,
        kafka_bootstrap=kafka_bootstrap,
        signal_lookback_hours=24 * 90,
        signal_webhook_url=hook.url,
        signal_webhook_retries=2,
    )
    first = run_signals(settings, as_of=AS_OF)
    assert first == {"new": 6, "published": 6, "webhook": 6}
    assert run_signals(settings, as_of=AS_OF) == {"new": 0, "published": 0, "webhook": 0}

    expected = {
        (ids[j.customer], rule, j.event_id(step))
        for j in journeys
        for rule, step in SIGNALS.get(j.script, set())
    }
    got = consume(kafka_bootstrap, set(ids.values()))
    assert {(p["customer_id"], p["rule"], p["anchor_event_id"]) for p in got} == expected
    assert len(got) == len(expected)  # published once
    assert hook.calls == 7  # one 503, retried
    assert {(b["customer_id"], b["rule"], b["anchor_event_id"]) for b in hook.bodies} == expected

    chaser = next(j for j in journeys if j.script == "order_chaser")
    resp = await client.get(f"/v1/customers/{ids[chaser.customer]}/signals")
    assert resp.status_code == 200, resp.text
    (badge,) = resp.json()["signals"]
    assert badge["rule"] == "order_contacts" and badge["anchor_event_id"] == chaser.event_id(3)
    assert badge["detail"] == "contact 2 about order W-1 (chat after call)"
    caller = next(j for j in journeys if j.script == "email_then_call")
    newest_first = (await client.get(f"/v1/customers/{ids[caller.customer]}/signals")).json()
    assert [s["rule"] for s in newest_first["signals"]] == [
        "detractor_open_matter",
        "unanswered_email",
    ]
    buyer = next(j for j in journeys if j.script == "store_buyer")
    assert (await client.get(f"/v1/customers/{ids[buyer.customer]}/signals")).json()[
        "signals"
    ] == []
    assert (await client.get("/v1/customers/nobody/signals")).status_code == 404
