"""The call-centre routes in-process (ASGI, a recording publisher, no broker)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import pytest

from ingest.app import create_app
from ingest.publisher import PublishError
from ingest.settings import IngestSettings
from tests.unit.ingest.test_app import RecordingPublisher

SAMPLES = Path(__file__).with_name("samples")
KEY = "cc-test-key"
BEARER = {"Authorization": f"Bearer {KEY}"}
BASIC = {"Authorization": "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()}


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
async def client(publisher: RecordingPublisher) -> AsyncIterator[httpx.AsyncClient]:
    settings = IngestSettings(write_keys=KEY, asterisk_timezone="America/Los_Angeles")
    transport = httpx.ASGITransport(app=create_app(settings, publisher), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as c:
        yield c


def error_of(response: httpx.Response) -> tuple[int, str]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    return response.status_code, body["error"]["code"]


async def test_ndjson_with_redelivery(
    client: httpx.AsyncClient, publisher: RecordingPublisher
) -> None:
    raw = (SAMPLES / "connect_firehose.ndjson").read_bytes()
    r = await client.post(
        "/call-centre/amazon-connect",
        content=raw,
        headers={**BEARER, "Content-Type": "application/x-ndjson"},
    )
    assert (r.status_code, r.json()) == (200, {"accepted": 2, "duplicates": 1})
    assert sorted(e.kind for e in publisher.events) == ["call_abandoned", "call_completed"]


async def test_firehose_http_endpoint_delivery(
    client: httpx.AsyncClient, publisher: RecordingPublisher
) -> None:
    record = (SAMPLES / "connect_voice_inbound.json").read_bytes()
    body = {
        "requestId": "req-1",
        "timestamp": 1,
        "records": [{"data": base64.b64encode(record).decode()}],
    }
    headers = {
        "X-Amz-Firehose-Access-Key": KEY,
        "X-Amz-Firehose-Request-Id": "req-1",
        "Content-Type": "application/json",
    }
    r = await client.post(
        "/call-centre/amazon-connect", content=orjson.dumps(body), headers=headers
    )
    assert r.status_code == 200 and r.json()["requestId"] == "req-1"
    assert isinstance(r.json()["timestamp"], int)
    assert len(publisher.events) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic !!"},
        {"X-Amz-Firehose-Access-Key": "no"},
    ],
)
async def test_write_key_is_required(
    client: httpx.AsyncClient, publisher: RecordingPublisher, headers: dict[str, str]
) -> None:
    raw = (SAMPLES / "connect_voice_inbound.json").read_bytes()
    for path, data in (("/call-centre/amazon-connect", raw), ("/call-centre/asterisk-cdr", b"x")):
        r = await client.post(path, content=data, headers=headers)
        assert error_of(r) == (401, "unauthorized")
    assert publisher.events == []


async def test_asterisk_csv(client: httpx.AsyncClient, publisher: RecordingPublisher) -> None:
    raw = (SAMPLES / "asterisk_master.csv").read_bytes()
    r = await client.post(
        "/call-centre/asterisk-cdr", content=raw, headers={**BASIC, "Content-Type": "text/csv"}
    )
    assert (r.status_code, r.json()) == (200, {"accepted": 2, "skipped": 2})
    assert publisher.events[0].occurred_at.isoformat() == "2024-11-23T18:15:02+00:00"


async def test_bad_input_is_4xx_and_publishes_nothing(
    client: httpx.AsyncClient, publisher: RecordingPublisher
) -> None:
    csv_headers = {**BASIC, "Content-Type": "text/csv"}
    r = await client.post("/call-centre/asterisk-cdr", content=b'"a","b"\n', headers=csv_headers)
    assert error_of(r) == (400, "invalid_event")
    assert r.json()["error"]["message"] == "row 1: has 2 columns, expected 16, 17, 18, 19 or 21"
    r = await client.post(
        "/call-centre/asterisk-cdr",
        content=b"x",
        headers={**BASIC, "Content-Type": "application/json"},
    )
    assert error_of(r) == (415, "unsupported_media_type")
    r = await client.post(
        "/call-centre/asterisk-cdr", content=b"x" * (6 * 1024 * 1024), headers=csv_headers
    )
    assert error_of(r) == (413, "payload_too_large")
    r = await client.post(
        "/call-centre/amazon-connect", content=b'{"ContactId": "x"}', headers=BEARER
    )
    assert error_of(r) == (400, "invalid_event")
    assert r.json()["error"]["message"] == "[0].InitiationTimestamp: must be an ISO-8601 string"
    assert publisher.events == []


async def test_broker_down_is_503(client: httpx.AsyncClient, publisher: RecordingPublisher) -> None:
    publisher.failure = PublishError("down")
    raw = (SAMPLES / "connect_voice_inbound.json").read_bytes()
    r = await client.post("/call-centre/amazon-connect", content=raw, headers=BEARER)
    assert error_of(r) == (503, "broker_unavailable")
