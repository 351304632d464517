"""The gateway's HTTP behaviour in-process (ASGI, a recording publisher, no broker)."""

from __future__ import annotations

import base64
import gzip
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from ingest.app import create_app
from ingest.publisher import PublishError
from ingest.settings import IngestSettings
from schemas import CanonicalEvent
from schemas.deadletter import DeadLetter

SAMPLES = Path(__file__).parent / "web" / "samples"
KEY = "test-key"
AUTH = {"Authorization": "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()}


class RecordingPublisher:
    def __init__(self) -> None:
        self.events: list[CanonicalEvent] = []
        self.dead: list[DeadLetter] = []
        self.failure: Exception | None = None
        self.is_ready = True

    async def publish(self, events: Sequence[CanonicalEvent]) -> None:
        if self.failure is not None:
            raise self.failure
        self.events.extend(events)

    async def publish_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        if self.failure is not None:
            raise self.failure
        self.dead.extend(letters)

    async def ready(self, timeout_s: float = 2.0) -> bool:
        return self.is_ready

    async def close(self) -> None:
        pass


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
async def client(publisher: RecordingPublisher) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(IngestSettings(write_keys=KEY), publisher)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as c:
        yield c


def sample(name: str) -> dict[str, Any]:
    data = orjson.loads((SAMPLES / f"{name}.json").read_bytes())
    assert isinstance(data, dict)
    data.pop("writeKey", None)
    return data


def error_of(response: httpx.Response) -> tuple[int, str]:
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    return response.status_code, body["error"]["code"]


async def test_batch_with_basic_auth(
    client: httpx.AsyncClient, publisher: RecordingPublisher
) -> None:
    r = await client.post("/v1/batch", json=sample("batch_analytics_python"), headers=AUTH)
    assert (r.status_code, r.json()) == (200, {"success": True})
    assert [e.kind for e in publisher.events] == ["identified", "tracked", "page_viewed"]


@pytest.mark.parametrize("name", ["identify", "track", "page", "screen", "alias", "group"])
async def test_single_routes_with_write_key_in_body(
    client: httpx.AsyncClient, publisher: RecordingPublisher, name: str
) -> None:
    body = {**sample(name), "writeKey": KEY}
    del body["type"]  # the route supplies it
    r = await client.post(f"/v1/{name}", json=body)
    assert r.status_code == 200, r.text
    assert len(publisher.events) == 1
    assert (
        b"writeKey" not in publisher.events[0].to_json()
        and KEY.encode() not in publisher.events[0].to_json()
    )


async def test_route_type_must_match(
    client: httpx.AsyncClient, publisher: RecordingPublisher
) -> None:
    r = await client.post("/v1/track", json=sample("page"), headers=AUTH)
    assert error_of(r) == (400, "invalid_event")
    assert r.json()["error"]["message"] == "type: must be 'track' on /v1/track"
    assert publisher.events == []


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic " + base64.b64encode(b"wrong:").decode()},
        {"Authorization": "Basic !!!"},
        {"Authorization": f"Bearer {KEY}"},
    ],
)
async def test_bad_write_key_is_401(
    client: httpx.AsyncClient, publisher: RecordingPublisher, headers: dict[str, str]
) -> None:
    r = await client.post("/v1/batch", json=sample("batch_analytics_python"), headers=headers)
    assert error_of(r) == (401, "unauthorized")
    r = await client.post(
        "/v1/track", json={**sample("track"), "writeKey": "nope"}, headers=headers
    )
    assert error_of(r) == (401, "unauthorized")
    assert publisher.events == []


async def test_malformed_batch_publishes_nothing(
    client: httpx.AsyncClient, publisher: RecordingPublisher
) -> None:
    body = sample("batch_analytics_python")
    body["batch"][2]["timestamp"] = "last tuesday"
    r = await client.post("/v1/batch", json=body, headers=AUTH)
    assert error_of(r) == (400, "invalid_event")
    assert r.json()["error"]["message"] == "batch[2].timestamp: is not an ISO-8601 timestamp"
    assert publisher.events == []


@pytest.mark.parametrize(
    ("content", "headers", "expected"),
    [
        (b"{", {"Content-Type": "application/json"}, (400, "invalid_json")),
        (b"[1]", {"Content-Type": "application/json"}, (400, "invalid_event")),
        (
            b"{}",
            {"Content-Type": "application/x-www-form-urlencoded"},
            (415, "unsupported_media_type"),
        ),
        (
            b"{}",
            {"Content-Type": "application/json", "Content-Encoding": "br"},
            (415, "unsupported_encoding"),
        ),
        (
            b"not gzip",
            {"Content-Type": "application/json", "Content-Encoding": "gzip"},
            (400, "invalid_gzip"),
        ),
    ],
)
async def test_bad_bodies(
    client: httpx.AsyncClient, content: bytes, headers: dict[str, str], expected: tuple[int, str]
) -> None:
    r = await client.post("/v1/batch", content=content, headers={**AUTH, **headers})
    assert error_of(r) == expected


async def test_text_plain_json_is_accepted(client: httpx.AsyncClient) -> None:
    body = orjson.dumps(sample("track"))
    r = await client.post("/v1/track", content=body, headers={**AUTH, "Content-Type": "text/plain"})
    assert r.status_code == 200


async def test_gzip_body(client: httpx.AsyncClient, publisher: RecordingPublisher) -> None:
    body = gzip.compress(orjson.dumps(sample("batch_analytics_python")))
    headers = {**AUTH, "Content-Type": "application/json", "Content-Encoding": "gzip"}
    r = await client.post("/v1/batch", content=body, headers=headers)
    assert r.status_code == 200 and len(publisher.events) == 3


async def test_gzip_bomb_is_refused(
    client: httpx.AsyncClient, publisher: RecordingPublisher
) -> None:
    bomb = gzip.compress(b'{"batch": [' + b" " * (50 * 1024 * 1024) + b"]}")
    assert len(bomb) < 100 * 1024
    headers = {**AUTH, "Content-Type": "application/json", "Content-Encoding": "gzip"}
    r = await client.post("/v1/batch", content=bomb, headers=headers)
    assert error_of(r) == (413, "payload_too_large")


async def test_oversized_bodies_are_413(client: httpx.AsyncClient) -> None:
    big = {"batch": [], "pad": "x" * (500 * 1024)}
    r = await client.post("/v1/batch", json=big, headers=AUTH)
    assert error_of(r) == (413, "payload_too_large")
    single = {**sample("track"), "properties": {"pad": "x" * (32 * 1024)}}
    r = await client.post("/v1/track", json=single, headers=AUTH)
    assert error_of(r) == (413, "payload_too_large")


async def test_streamed_body_without_length_is_capped(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(600):
            yield b" " * 1024

    headers = {**AUTH, "Content-Type": "application/json"}
    r = await client.post("/v1/batch", content=chunks(), headers=headers)
    assert error_of(r) == (413, "payload_too_large")


async def test_oversized_message_in_a_batch_is_413(client: httpx.AsyncClient) -> None:
    body = sample("batch_analytics_python")
    body["batch"][1]["properties"]["pad"] = "x" * (33 * 1024)
    r = await client.post("/v1/batch", json=body, headers=AUTH)
    assert error_of(r) == (413, "payload_too_large")
    assert r.json()["error"]["message"].startswith("batch[1]: ")


async def test_broker_failure_is_503(
    client: httpx.AsyncClient, publisher: RecordingPublisher
) -> None:
    publisher.failure = PublishError("no broker")
    r = await client.post("/v1/batch", json=sample("batch_analytics_python"), headers=AUTH)
    assert error_of(r) == (503, "broker_unavailable")
    assert r.headers["retry-after"] == "5"


async def test_unexpected_error_is_500_without_details(
    client: httpx.AsyncClient, publisher: RecordingPublisher
) -> None:
    publisher.failure = RuntimeError("secret internal detail")
    r = await client.post("/v1/batch", json=sample("batch_analytics_python"), headers=AUTH)
    assert error_of(r) == (500, "internal_error")
    assert "secret" not in r.text
    assert r.headers.get("x-request-id")


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/v2/nothing", (404, "not_found")),
        ("GET", "/v1/batch", (405, "method_not_allowed")),
    ],
)
async def test_unknown_routes_and_methods_are_json(
    client: httpx.AsyncClient, method: str, path: str, expected: tuple[int, str]
) -> None:
    assert error_of(await client.request(method, path)) == expected


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    generated = (await client.get("/healthz")).headers["x-request-id"]
    assert len(generated) == 32
    unsafe = await client.get("/healthz", headers={"X-Request-ID": "a b\tc"})
    assert unsafe.headers["x-request-id"] != "a b\tc"


async def test_health_and_readiness(
    client: httpx.AsyncClient, publisher: RecordingPublisher
) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).status_code == 200
    publisher.is_ready = False
    assert error_of(await client.get("/readyz")) == (503, "broker_unavailable")


async def test_metrics(client: httpx.AsyncClient) -> None:
    await client.post("/v1/batch", json=sample("batch_analytics_python"), headers=AUTH)
    await client.post("/v1/batch", json=sample("batch_analytics_python"))
    text = (await client.get("/metrics")).text
    assert 'threadline_ingest_events_accepted_total{channel="web",source="segment"} 3.0' in text
    assert 'threadline_ingest_rejects_total{code="unauthorized"} 1.0' in text
    assert "threadline_ingest_publish_seconds_count 1.0" in text
    assert 'route="/v1/batch",status="200"' in text and 'route="/v1/batch",status="401"' in text
