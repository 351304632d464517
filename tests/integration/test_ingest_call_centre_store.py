"""Call-centre and store routes against the real embedded broker: acked means on the topic."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition

from ingest.settings import IngestSettings
from schemas import CanonicalEvent
from schemas.events import REVISION_KEY, decode_event
from services.embedded import free_port
from tests.support.gateway import end_offsets, interactions_consumer, running_gateway

pytestmark = pytest.mark.integration

UNIT = Path(__file__).resolve().parent.parent / "unit" / "ingest"
CC_SAMPLES = UNIT / "call_centre" / "samples"
STORE_SAMPLES = UNIT / "store" / "samples"
KEY = "integration-cc-store-key"
SECRET = "integration-shopify-secret"
BEARER = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def gateway_url(kafka_bootstrap: str) -> Iterator[str]:
    """A real uvicorn gateway on a free loopback port, publishing to the embedded broker."""
    settings = IngestSettings(
        port=free_port(),
        kafka_bootstrap=kafka_bootstrap,
        write_keys=KEY,
        publish_timeout_s=10,
        shopify_webhook_secret=SECRET,
        asterisk_timezone="America/Los_Angeles",
    )
    with running_gateway(settings) as url:
        yield url


@pytest.fixture(scope="module")
def consumer(kafka_bootstrap: str) -> Iterator[KafkaConsumer]:
    with interactions_consumer(kafka_bootstrap) as c:
        yield c


def read_events(
    consumer: KafkaConsumer, start: dict[TopicPartition, int], ids: set[str], count: int
) -> list[tuple[bytes, CanonicalEvent]]:
    """(key, event) of the records written after `start` whose event_id is in `ids`."""
    consumer.assign(list(start))
    for tp, offset in start.items():
        consumer.seek(tp, offset)
    found: list[tuple[bytes, CanonicalEvent]] = []
    deadline, settle = time.monotonic() + 15, None
    while time.monotonic() < deadline and (settle is None or time.monotonic() < settle):
        for batch in consumer.poll(timeout_ms=200).values():
            for record in batch:
                event = decode_event(record.value)
                if event.event_id in ids:
                    found.append((record.key, event))
        if settle is None and len(found) >= count:
            settle = time.monotonic() + 0.5
    return found


def fresh_connect_ndjson() -> tuple[bytes, dict[str, str]]:
    """The NDJSON sample with fresh contact ids and customer ids (the topic is shared)."""
    mapping: dict[str, str] = {}
    lines = []
    for line in (CC_SAMPLES / "connect_firehose.ndjson").read_bytes().splitlines():
        record: dict[str, Any] = orjson.loads(line)
        old = record["ContactId"]
        record["ContactId"] = mapping.setdefault(old, str(uuid.uuid4()))
        if record["Attributes"].get("customerId"):
            record["Attributes"]["customerId"] = f"cust-{record['ContactId']}"
        lines.append(orjson.dumps(record))
    return b"\n".join(lines) + b"\n", mapping


def test_connect_ndjson_redelivery_publishes_the_newest_once(
    gateway_url: str, consumer: KafkaConsumer
) -> None:
    body, ids = fresh_connect_ndjson()
    start = end_offsets(consumer)
    r = httpx.post(
        f"{gateway_url}/call-centre/amazon-connect",
        content=body,
        headers={**BEARER, "Content-Type": "application/x-ndjson"},
        timeout=15,
    )
    assert (r.status_code, r.json()) == (200, {"accepted": 2, "duplicates": 1})
    event_ids = {f"amazon-connect:{new}" for new in ids.values()}
    found = read_events(consumer, start, event_ids, 2)
    assert len(found) == 2
    by_kind = {event.kind: (key, event) for key, event in found}
    key, completed = by_kind["call_completed"]
    assert key == f"user_id:cust-{completed.attributes['contact_id']}".encode()
    assert completed.attributes[REVISION_KEY] == "2024-11-23T16:05:00.000000Z"
    key, abandoned = by_kind["call_abandoned"]
    assert key == b"phone:+14155550177"
    assert abandoned.summary == "Abandoned call (inbound, 1m 5s) in queue Billing"


def test_asterisk_csv_rows_are_published_in_utc(gateway_url: str, consumer: KafkaConsumer) -> None:
    run = uuid.uuid4().hex[:12]
    raw = (CC_SAMPLES / "asterisk_master.csv").read_text().replace("1732356902.42", f"{run}.42")
    raw = raw.replace("1732357200.44", f"{run}.44")
    start = end_offsets(consumer)
    r = httpx.post(
        f"{gateway_url}/call-centre/asterisk-cdr",
        content=raw.encode(),
        headers={**BEARER, "Content-Type": "text/csv"},
        timeout=15,
    )
    assert (r.status_code, r.json()) == (200, {"accepted": 2, "skipped": 2})
    found = read_events(consumer, start, {f"asterisk:{run}.42", f"asterisk:{run}.44"}, 2)
    events = {event.event_id: (key, event) for key, event in found}
    key, answered = events[f"asterisk:{run}.42"]
    assert key == b"phone:+14155550100"
    assert answered.occurred_at.isoformat() == "2024-11-23T18:15:02+00:00"
    assert events[f"asterisk:{run}.44"][1].kind == "call_missed"


def shopify_post(url: str, body: bytes, topic: str, secret: str = SECRET) -> httpx.Response:
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": digest,
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Shop-Domain": "example-shop.myshopify.com",
    }
    return httpx.post(f"{url}/store/shopify/orders", content=body, headers=headers, timeout=15)


def test_shopify_create_then_update_share_the_event_id(
    gateway_url: str, consumer: KafkaConsumer
) -> None:
    order_id = int(time.time_ns() % 10**15)
    email = f"buyer-{order_id}@example.com"
    create = orjson.loads((STORE_SAMPLES / "shopify_orders_create.json").read_bytes())
    update = orjson.loads((STORE_SAMPLES / "shopify_orders_updated_fulfilled.json").read_bytes())
    for order in (create, update):
        order.update(id=order_id, email=email)
        order["customer"]["email"] = email
    start = end_offsets(consumer)
    assert shopify_post(gateway_url, orjson.dumps(create), "orders/create").status_code == 200
    assert shopify_post(gateway_url, orjson.dumps(update), "orders/updated").status_code == 200
    found = read_events(consumer, start, {f"shopify:order-{order_id}"}, 2)
    assert [key for key, _ in found] == [f"email:{email}".encode()] * 2
    placed, collected = (event for _, event in found)
    assert (placed.kind, collected.kind) == ("order_placed", "order_collected")
    assert collected.attributes[REVISION_KEY] > placed.attributes[REVISION_KEY]


def test_refused_requests_publish_nothing(gateway_url: str, consumer: KafkaConsumer) -> None:
    order = (STORE_SAMPLES / "shopify_orders_create.json").read_bytes()
    before = end_offsets(consumer)
    r = shopify_post(gateway_url, order, "orders/create", secret="wrong-secret")
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_signature"
    bad_csv = b'"only","two"\n'
    r = httpx.post(
        f"{gateway_url}/call-centre/asterisk-cdr",
        content=bad_csv,
        headers={**BEARER, "Content-Type": "text/csv"},
        timeout=15,
    )
    assert r.status_code == 400
    time.sleep(0.3)
    assert end_offsets(consumer) == before


def test_store_receipt_is_published(gateway_url: str, consumer: KafkaConsumer) -> None:
    receipt = orjson.loads((STORE_SAMPLES / "receipt_sale.json").read_bytes())
    receipt["receipt_id"] = f"R-{uuid.uuid4().hex[:10]}"
    receipt["customer"] = {"loyalty_id": f"LOY-{receipt['receipt_id']}"}
    start = end_offsets(consumer)
    r = httpx.post(f"{gateway_url}/store/receipts", json=receipt, headers=BEARER, timeout=15)
    assert (r.status_code, r.json()) == (200, {"accepted": 1})
    event_id = f"store-receipt:LON-01:{receipt['receipt_id']}"
    ((key, event),) = read_events(consumer, start, {event_id}, 1)
    assert key == f"loyalty_id:LOY-{receipt['receipt_id']}".encode()
    assert (event.channel, event.kind) == ("store", "order_placed")
