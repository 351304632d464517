"""The ingest gateway against the real embedded broker: acknowledged means on the topic."""

from __future__ import annotations

import asyncio
import base64
import gzip
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from kafka import KafkaConsumer

from ingest.app import create_app
from ingest.publisher import KafkaPublisher, PublishError
from ingest.settings import IngestSettings
from ingest.web.mapping import map_batch
from schemas.events import decode_event, utc_now
from services.embedded import EmbeddedBroker, free_port
from services.kafka_admin import ensure_topics
from tests.support.gateway import (
    end_offsets,
    interactions_consumer,
    read_since,
    running_gateway,
)

pytestmark = pytest.mark.integration

SAMPLES = Path(__file__).resolve().parent.parent / "unit" / "ingest" / "web" / "samples"
KEY = "integration-write-key"
AUTH = {"Authorization": "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()}


@pytest.fixture(scope="module")
def gateway_url(kafka_bootstrap: str) -> Iterator[str]:
    """A real uvicorn gateway on a free loopback port, publishing to the embedded broker."""
    settings = IngestSettings(
        port=free_port(), kafka_bootstrap=kafka_bootstrap, write_keys=KEY, publish_timeout_s=10
    )
    with running_gateway(settings) as url:
        yield url


@pytest.fixture(scope="module")
def consumer(kafka_bootstrap: str) -> Iterator[KafkaConsumer]:
    with interactions_consumer(kafka_bootstrap) as c:
        yield c


def sample(name: str) -> dict[str, Any]:
    data = orjson.loads((SAMPLES / f"{name}.json").read_bytes())
    assert isinstance(data, dict)
    return data


def unique_batch() -> dict[str, Any]:
    """The analytics-python sample with fresh ids (the topic is shared by the whole session)."""
    body = sample("batch_analytics_python")
    body["writeKey"] = KEY
    user, device = f"cust-{uuid.uuid4()}", str(uuid.uuid4())
    for msg in body["batch"]:
        msg["messageId"] = str(uuid.uuid4())
        msg["userId"] = msg["userId"] and user
        msg["anonymousId"] = msg["anonymousId"] and device
    return body


def keys_of(body: dict[str, Any]) -> set[bytes]:
    user = body["batch"][0]["userId"]
    return {f"user_id:{user}".encode(), f"anonymous_id:{body['batch'][2]['anonymousId']}".encode()}


def test_acknowledged_batch_is_on_the_topic(gateway_url: str, consumer: KafkaConsumer) -> None:
    body = unique_batch()
    start = end_offsets(consumer)
    r = httpx.post(f"{gateway_url}/v1/batch", json=body, timeout=15)
    assert (r.status_code, r.json()) == (200, {"success": True})
    records = read_since(consumer, start, keys_of(body), 3)
    expected_ids = {f"segment:{m['messageId']}" for m in body["batch"]}
    assert {decode_event(r.value).event_id for r in records} == expected_ids
    for record in records:
        event = decode_event(record.value)
        assert record.value == event.to_json()  # canonical JSON, byte for byte
        assert record.key == event.kafka_key()
        headers = dict(record.headers)
        assert headers["ce_specversion"] == b"1.0"
        assert headers["ce_id"] == event.event_id.encode()
        assert headers["ce_source"] == b"/threadline/segment"
        assert headers["ce_type"] == f"dev.threadline.web.{event.kind}".encode()
    assert {r.key for r in records} == keys_of(body)
    by_kind = {decode_event(r.value).kind: r.key for r in records}
    assert by_kind["page_viewed"].startswith(b"anonymous_id:")


def test_redelivered_batch_gets_the_same_event_ids(
    gateway_url: str, consumer: KafkaConsumer
) -> None:
    body = unique_batch()
    del body["batch"][0]["messageId"]  # derived from content: must be stable too
    start = end_offsets(consumer)
    for attempt in range(2):
        later = {**body, "sentAt": f"2024-11-23T11:3{attempt}:00Z"}
        assert httpx.post(f"{gateway_url}/v1/batch", json=later, timeout=15).status_code == 200
    records = read_since(consumer, start, keys_of(body), 6)
    ids = [decode_event(r.value).event_id for r in records]
    assert len(ids) == 6 and len(set(ids)) == 3
    assert all(ids.count(i) == 2 for i in ids)


def test_the_real_segment_python_sdk_works_against_the_gateway(
    gateway_url: str, consumer: KafkaConsumer
) -> None:
    from segment.analytics import Client

    start = end_offsets(consumer)
    user = f"sdk-user-{uuid.uuid4()}"
    errors: list[Exception] = []
    client = Client(
        KEY, host=gateway_url, sync_mode=True, gzip=True, on_error=lambda e, _b: errors.append(e)
    )
    client.identify(user, {"email": "SDK.User@Example.com", "phone": "+44 20 7946 0958"})
    client.track(user, "Order Completed", {"order_id": "W-7"})
    client.flush()
    assert errors == []
    records = read_since(consumer, start, {f"user_id:{user}".encode()}, 2)
    events = [decode_event(r.value) for r in records]
    assert sorted(e.kind for e in events) == ["identified", "tracked"]
    identify = next(e for e in events if e.kind == "identified")
    assert {(i.type, i.value) for i in identify.identifiers} >= {
        ("email", "sdk.user@example.com"),
        ("phone", "+442079460958"),
    }


@pytest.mark.parametrize(
    ("content", "headers", "status"),
    [
        ("malformed", {"Content-Type": "application/json"}, 400),
        ("bad_key", {"Content-Type": "application/json"}, 401),
        ("oversized", {"Content-Type": "application/json"}, 413),
        ("not_json", {"Content-Type": "application/json"}, 400),
    ],
)
def test_refused_requests_publish_nothing(
    gateway_url: str, consumer: KafkaConsumer, content: str, headers: dict[str, str], status: int
) -> None:
    body = unique_batch()
    if content == "malformed":
        body["batch"][2]["userId"] = {"nested": True}
        body["batch"][2]["anonymousId"] = None
    elif content == "bad_key":
        body["writeKey"] = "wrong"
    elif content == "oversized":
        body["batch"][0]["traits"]["pad"] = "x" * (520 * 1024)
    raw = b"{not json" if content == "not_json" else orjson.dumps(body)
    before = end_offsets(consumer)
    r = httpx.post(f"{gateway_url}/v1/batch", content=raw, headers=headers, timeout=15)
    assert r.status_code == status
    assert set(r.json()["error"]) == {"code", "message"}
    time.sleep(0.3)
    assert end_offsets(consumer) == before


def test_gzip_body_is_accepted(gateway_url: str, consumer: KafkaConsumer) -> None:
    body = unique_batch()
    start = end_offsets(consumer)
    r = httpx.post(
        f"{gateway_url}/v1/batch",
        content=gzip.compress(orjson.dumps(body)),
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip", **AUTH},
        timeout=15,
    )
    assert r.status_code == 200
    assert len(read_since(consumer, start, keys_of(body), 3)) == 3


def test_health_and_readiness_with_a_live_broker(gateway_url: str) -> None:
    assert httpx.get(f"{gateway_url}/healthz").status_code == 200
    ready = httpx.get(f"{gateway_url}/readyz", timeout=10)
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    assert "threadline_ingest_events_accepted_total" in httpx.get(f"{gateway_url}/metrics").text


async def test_unreachable_broker_gives_503_json() -> None:
    dead = f"127.0.0.1:{free_port()}"  # nothing listens here
    settings = IngestSettings(kafka_bootstrap=dead, write_keys=KEY, publish_timeout_s=2)
    publisher = KafkaPublisher.from_settings(settings)
    app = create_app(settings, publisher)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            started = time.monotonic()
            r = await client.post("/v1/batch", json=unique_batch())
            assert r.status_code == 503
            assert r.json()["error"]["code"] == "broker_unavailable"
            assert time.monotonic() - started < 8
            ready = await client.get("/readyz")
            assert (
                ready.status_code == 503 and ready.json()["error"]["code"] == "broker_unavailable"
            )
    finally:
        await publisher.close()


def _threads(suffix: str) -> list[threading.Thread]:
    """Live threads whose name ends with `suffix`."""
    return [t for t in threading.enumerate() if t.name.endswith(suffix)]


async def test_publisher_fails_in_bounded_time_when_the_broker_goes_away(
    tmp_path: Path,
) -> None:
    broker = EmbeddedBroker(port=free_port(), log_path=tmp_path / "tansu.log")
    bootstrap = broker.start()
    publisher = KafkaPublisher(bootstrap, timeout_s=2)
    before = set(_threads("-network-thread"))
    try:
        ensure_topics(bootstrap, partitions=2)
        events = map_batch(unique_batch(), utc_now())
        await publisher.publish(events)  # connected and acknowledged
        assert await publisher.ready()
        # The producer's sender, about to be retired (not other tests' publishers' senders).
        network = [t for t in _threads("-network-thread") if t not in before]
        assert network
        broker.stop()
        started = time.monotonic()
        with pytest.raises(PublishError, match=r"did not acknowledge|rejected"):
            await publisher.publish(events)
        assert time.monotonic() - started < 5
        assert not await publisher.ready()
        # The retired producer is closed off the loop, its network thread included, although
        # records were still pending in it (kafka-python's close raises for those).
        for closing in _threads("retire-producer"):
            await asyncio.to_thread(closing.join, 30)
        assert not _threads("retire-producer"), "a retired producer was never closed"
        assert not [t for t in network if t.is_alive()], "its network thread still runs"
    finally:
        broker.stop()
        await publisher.close()
