"""The probe endpoint of the worker and the SMTP listener (pure request handling)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping

import pytest

from runtime.probes import ProbeServer, bootstrap_servers


def server(checks: Mapping[str, bool] | Exception) -> ProbeServer:
    async def ready() -> Mapping[str, bool]:
        if isinstance(checks, Exception):
            raise checks
        return checks

    return ProbeServer(ready, lambda: (b"# TYPE x counter\n", "text/plain"), check_timeout_s=1)


async def test_liveness_answers_without_running_checks() -> None:
    status, body, _ = await server(RuntimeError("never called")).answer("GET", "/healthz")
    assert (status, json.loads(body)) == (200, {"status": "ok"})


async def test_ready_when_every_check_passes() -> None:
    status, body, _ = await server({"database": True, "kafka": True}).answer("GET", "/readyz")
    assert status == 200
    assert json.loads(body)["checks"] == {"database": "ok", "kafka": "ok"}


async def test_not_ready_names_the_dependency_that_is_down() -> None:
    status, body, _ = await server({"database": True, "kafka": False}).answer("GET", "/readyz")
    payload = json.loads(body)
    assert status == 503
    assert payload["error"]["code"] == "not_ready"
    assert "kafka" in payload["error"]["message"] and "database" not in payload["error"]["message"]


async def test_a_failing_or_hanging_check_means_not_ready() -> None:
    assert (await server(OSError("boom")).answer("GET", "/readyz"))[0] == 503

    async def hang() -> Mapping[str, bool]:
        await asyncio.sleep(3600)
        return {}

    slow = ProbeServer(hang, lambda: (b"", "text/plain"), check_timeout_s=0.01)
    assert (await slow.answer("GET", "/readyz"))[0] == 503


async def test_metrics_and_unknown_routes() -> None:
    probes = server({})
    assert await probes.answer("GET", "/metrics?x=1") == (200, b"# TYPE x counter\n", "text/plain")
    assert (await probes.answer("GET", "/customers/42"))[0] == 404
    assert (await probes.answer("POST", "/healthz"))[0] == 405


async def test_serves_http_on_a_socket() -> None:
    probes = server({"kafka": True})
    port = await probes.start("127.0.0.1", 0)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
        raw = await reader.read()
        writer.close()
    finally:
        await probes.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert json.loads(body)["status"] == "ready"


@pytest.mark.parametrize(
    ("text", "servers"),
    [
        ("kafka:9092", [("kafka", 9092)]),
        ("a:1, b:2", [("a", 1), ("b", 2)]),
        ("broker", [("broker", 9092)]),
        ("[::1]:9093", [("::1", 9093)]),
    ],
)
def test_bootstrap_servers(text: str, servers: list[tuple[str, int]]) -> None:
    assert bootstrap_servers(text) == servers
