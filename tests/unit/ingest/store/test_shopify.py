"""Pure mapping of Shopify order webhooks (golden payloads in Shopify's REST order format)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from ingest.store.shopify import map_order
from schemas import CanonicalEvent, InvalidEvent
from schemas.events import REVISION_KEY, decode_event

SAMPLES = Path(__file__).with_name("samples")
RECEIVED = datetime(2024, 11, 26, 9, 0, tzinfo=UTC)


def sample(name: str) -> dict[str, Any]:
    data = orjson.loads((SAMPLES / f"{name}.json").read_bytes())
    assert isinstance(data, dict)
    return data


def idents(event: CanonicalEvent) -> set[tuple[str, str]]:
    return {(i.type, i.value) for i in event.identifiers}


def test_orders_create_golden() -> None:
    event = map_order(
        sample("shopify_orders_create"),
        RECEIVED,
        topic="orders/create",
        webhook_id="b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        shop_domain="example-shop.myshopify.com",
    )
    assert event.event_id == "shopify:order-5678901234567"
    assert (event.channel, event.kind, event.source) == ("store", "order_placed", "shopify")
    assert event.occurred_at == datetime(2024, 11, 23, 15, 2, 11, tzinfo=UTC)
    assert event.summary == "Order #1001: 2 items, 59.90 EUR (online, pickup)"
    assert idents(event) == {
        ("email", "maria.lopez@example.com"),
        ("phone", "+14155550132"),
        ("shopify_customer_id", "7012345678901"),
        ("order_id", "1001@example-shop.myshopify.com"),
        ("shopify_order_id", "5678901234567"),
    }
    # The shipping address phone may be a gift recipient's: never an identifier.
    assert ("phone", "+14155550999") not in idents(event)
    attrs = event.attributes
    assert attrs[REVISION_KEY] == "2024-11-23T15:02:12.000000Z"
    assert attrs["sales_channel"] == "online" and attrs["pickup"] is True
    assert attrs["webhook_id"] == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    assert attrs["shop_domain"] == "example-shop.myshopify.com"
    assert attrs["lines"][0] == {
        "title": "Linen shirt",
        "variant": "M / Blue",
        "sku": "SHIRT-LIN-M-BLU",
        "quantity": 1,
        "price": "39.90",
    }
    assert decode_event(event.to_json()) == event


def test_orders_updated_replaces_the_same_item_with_a_newer_revision() -> None:
    created = map_order(sample("shopify_orders_create"), RECEIVED, topic="orders/create")
    updated = map_order(
        sample("shopify_orders_updated_fulfilled"), RECEIVED, topic="orders/updated"
    )
    assert updated.event_id == created.event_id
    assert updated.attributes[REVISION_KEY] > created.attributes[REVISION_KEY]
    assert updated.kind == "order_collected"
    assert updated.summary == "Order #1001 collected: 2 items, 59.90 EUR (online, pickup)"


def test_fulfilled_delivery_order_and_cancelled_order() -> None:
    order = sample("shopify_orders_updated_fulfilled")
    order["shipping_lines"] = [{"code": "Standard", "title": "Standard", "source": "shopify"}]
    assert map_order(order, RECEIVED).kind == "order_fulfilled"
    order["cancelled_at"] = "2024-11-24T17:00:00-05:00"
    order["cancel_reason"] = "customer"
    cancelled = map_order(order, RECEIVED, topic="orders/cancelled")
    assert cancelled.kind == "order_cancelled"
    assert cancelled.summary.startswith("Cancelled order #1001:")


def test_pos_order_is_an_in_store_purchase() -> None:
    event = map_order(sample("shopify_pos_order"), RECEIVED, topic="orders/create")
    assert (event.channel, event.kind) == ("store", "order_placed")
    assert event.summary == "Order #1002: 2 items, 24.50 EUR (in store)"
    assert event.attributes["sales_channel"] == "in_store"
    assert event.attributes["location_id"] == 61234567890
    assert idents(event) == {
        ("phone", "+442079460958"),
        ("shopify_customer_id", "7012345600000"),
        ("order_id", "1002"),  # no shop domain given: not scoped
        ("shopify_order_id", "5678901299999"),
    }


def test_malformed_contact_details_are_skipped_not_fatal() -> None:
    order = sample("shopify_orders_create")
    order["email"] = "not-an-email"
    order["billing_address"]["phone"] = "12"
    event = map_order(order, RECEIVED)
    assert event.attributes["skipped_identifiers"] == ["email", "billing_address.phone"]
    assert ("email", "maria.lopez@example.com") in idents(event)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": None}, r"^id: is required"),
        ({"id": True}, r"^id: is required"),
        ({"created_at": "last tuesday"}, r"^created_at: is not an ISO-8601"),
        ({"updated_at": 12}, r"^updated_at: must be an ISO-8601"),
        ({"total_price": "lots"}, r"^total_price: must be a decimal"),
        ({"line_items": {}}, r"^line_items: must be a list"),
        ({"line_items": [{"quantity": "2"}]}, r"^line_items\[0\]\.quantity: must be a whole"),
        ({"customer": "maria"}, r"^customer: must be an object"),
        ({"source_name": 5}, r"^source_name: must be a string"),
    ],
)
def test_bad_orders_name_the_field(change: dict[str, Any], message: str) -> None:
    order = sample("shopify_orders_create")
    order.update(change)
    with pytest.raises(InvalidEvent, match=message):
        map_order(order, RECEIVED)


def test_unknown_topic_and_non_object() -> None:
    with pytest.raises(InvalidEvent, match=r"^X-Shopify-Topic: 'products/create' is not"):
        map_order(sample("shopify_orders_create"), RECEIVED, topic="products/create")
    with pytest.raises(InvalidEvent, match=r"^body: must be a JSON object"):
        map_order([], RECEIVED)
