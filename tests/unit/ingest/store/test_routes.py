"""The store routes in-process: Shopify HMAC verification and receipt write keys."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import httpx
import orjson
import pytest

from tests.support.ingest_app import Factory, gateway_factory
from tests.unit.ingest.test_app import RecordingPublisher

SAMPLES = Path(__file__).with_name("samples")
KEY = "store-test-key"
SECRET = "shpss_test_secret"
ORDER = (SAMPLES / "shopify_orders_create.json").read_bytes()


@pytest.fixture
def gateway(publisher: RecordingPublisher) -> Factory:
    return gateway_factory(publisher, write_keys=KEY)


def signed(
    body: bytes, secret: str = SECRET, topic: str | None = "orders/create"
) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return {
        "Content-Type": "application/json",
        **({"X-Shopify-Topic": topic} if topic else {}),
        "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
        "X-Shopify-Shop-Domain": "example-shop.myshopify.com",
        "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "X-Shopify-Triggered-At": "2024-11-23T15:02:12.123456Z",
        "X-Shopify-API-Version": "2024-10",
    }


def error_of(response: httpx.Response) -> tuple[int, str]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    return response.status_code, body["error"]["code"]


async def test_valid_hmac_is_accepted(gateway: Factory, publisher: RecordingPublisher) -> None:
    async with gateway(shopify_webhook_secret=SECRET) as client:
        r = await client.post("/store/shopify/orders", content=ORDER, headers=signed(ORDER))
    assert (r.status_code, r.json()) == (200, {"accepted": 1})
    (event,) = publisher.events
    assert event.attributes["webhook_id"] == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    assert event.attributes["topic"] == "orders/create"
    assert event.attributes["triggered_at"] == "2024-11-23T15:02:12.123456Z"


@pytest.mark.parametrize(
    "headers",
    [
        signed(ORDER, secret="another-secret"),
        signed(ORDER + b" "),  # signature of a different body
        {k: v for k, v in signed(ORDER).items() if k != "X-Shopify-Hmac-Sha256"},
        {**signed(ORDER), "X-Shopify-Hmac-Sha256": "not base64 at all"},
    ],
)
async def test_invalid_hmac_is_401(
    gateway: Factory, publisher: RecordingPublisher, headers: dict[str, str]
) -> None:
    async with gateway(shopify_webhook_secret=SECRET) as client:
        r = await client.post("/store/shopify/orders", content=ORDER, headers=headers)
    assert error_of(r) == (401, "invalid_signature")
    assert publisher.events == []


async def test_no_secret_is_503_outside_dev_mode_and_accepted_in_dev_mode(
    gateway: Factory, publisher: RecordingPublisher
) -> None:
    headers = {"Content-Type": "application/json", "X-Shopify-Topic": "orders/updated"}
    async with gateway() as client:
        r = await client.post("/store/shopify/orders", content=ORDER, headers=headers)
    assert error_of(r) == (503, "not_configured")
    assert publisher.events == []
    async with gateway(dev_mode=True, write_keys=[]) as client:
        r = await client.post("/store/shopify/orders", content=ORDER, headers=headers)
    assert r.status_code == 200 and len(publisher.events) == 1


async def test_bad_order_and_missing_topic_are_400(
    gateway: Factory, publisher: RecordingPublisher
) -> None:
    bad = orjson.dumps({**orjson.loads(ORDER), "created_at": "soon"})
    async with gateway(shopify_webhook_secret=SECRET) as client:
        r = await client.post("/store/shopify/orders", content=bad, headers=signed(bad))
        assert error_of(r) == (400, "invalid_event")
        assert r.json()["error"]["message"] == "created_at: is not an ISO-8601 timestamp"
        # A topic not mapped is acknowledged without an event (Shopify drops failing hooks).
        headers = signed(ORDER, topic="products/create")
        r = await client.post("/store/shopify/orders", content=ORDER, headers=headers)
        assert r.status_code == 200 and r.json()["accepted"] == 0
        r = await client.post("/store/shopify", content=ORDER, headers=signed(ORDER, topic=None))
        assert error_of(r) == (400, "invalid_event")
        r = await client.post("/store/shopify/orders", content=b"{", headers=signed(b"{"))
        assert error_of(r) == (400, "invalid_json")
        big = b" " * (3 * 1024 * 1024)
        r = await client.post("/store/shopify/orders", content=big, headers=signed(big))
        assert error_of(r) == (413, "payload_too_large")
    assert publisher.events == []


async def test_receipts_need_a_write_key(gateway: Factory, publisher: RecordingPublisher) -> None:
    receipt = (SAMPLES / "receipt_sale.json").read_bytes()
    async with gateway(default_region="GB") as client:
        r = await client.post(
            "/store/receipts", content=receipt, headers={"Content-Type": "application/json"}
        )
        assert error_of(r) == (401, "unauthorized")
        auth = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
        r = await client.post("/store/receipts", content=receipt, headers=auth)
        assert (r.status_code, r.json()) == (200, {"accepted": 1})
        r = await client.post("/store/receipts", content=b'{"receipt_id": 1}', headers=auth)
        assert error_of(r) == (400, "invalid_event")
    assert [e.kind for e in publisher.events] == ["order_placed"]
