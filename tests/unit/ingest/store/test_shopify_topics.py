"""Shopify topics beyond orders, golden payloads from Shopify's own SDK fixtures.

`shopify_refunds_create.json`, `shopify_fulfillments_create.json` and
`shopify_customers_create.json` are the Refund, Fulfillment and Customer resources of
Shopify's `shopify_python_api` test fixtures (test/fixtures/refund.json, fulfillment.json,
customer.json: the REST reference examples), unwrapped as webhooks carry them (the body of
a `refunds/create` webhook is the refund object itself).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ingest.store.shopify_topics import TOPICS, Delivery, map_webhook
from schemas import CanonicalEvent, InvalidEvent
from schemas.events import REVISION_KEY, decode_event
from tests.support.ingest_app import json_sample

RECEIVED = datetime(2024, 11, 26, 9, 0, tzinfo=UTC)
SHOP = "example-shop.myshopify.com"


def sample(name: str) -> dict[str, Any]:
    data = json_sample(f"store/samples/{name}.json")
    assert isinstance(data, dict)
    return data


def one(topic: str, body: dict[str, Any]) -> CanonicalEvent:
    [event] = map_webhook(topic, body, RECEIVED, "US", Delivery(SHOP, "w-1"))
    assert decode_event(event.to_json()) == event
    assert (event.channel, event.source) == ("store", "shopify")
    return event


def idents(event: CanonicalEvent) -> set[tuple[str, str]]:
    return {(i.type, i.value) for i in event.identifiers}


def test_refund_is_a_return_linked_to_its_order() -> None:
    event = one("refunds/create", sample("shopify_refunds_create"))
    assert (event.event_id, event.kind) == ("shopify:refund-509562969", "return")
    assert idents(event) == {("shopify_order_id", "450789469")}
    assert event.summary == "Return on order 450789469: 2 items, 209.00 USD refunded"
    attrs = event.attributes
    assert (attrs["items"], attrs["total"], attrs["restock"]) == (2, "209.00", True)
    assert attrs["lines"][0] == {
        "title": "IPod Nano - 8gb",
        "variant": "black",
        "sku": "IPOD2008BLACK",
        "quantity": 1,
        "price": "199.00",
    }
    assert attrs["note"] == "it broke during shipping" and attrs["topic"] == "refunds/create"


def test_the_order_carries_the_id_its_refunds_and_fulfillments_name() -> None:
    order = sample("shopify_orders_create")
    [placed] = map_webhook("orders/create", order, RECEIVED, "US", Delivery(SHOP))
    refund = {**sample("shopify_refunds_create"), "order_id": order["id"]}
    returned = one("refunds/create", refund)
    assert idents(returned) <= idents(placed)


def test_fulfillment_kinds_follow_the_shipment_status() -> None:
    body = sample("shopify_fulfillments_create")
    shipped = one("fulfillments/create", body)
    assert (shipped.event_id, shipped.kind) == ("shopify:fulfillment-255858046", "order_fulfilled")
    assert shipped.summary == "Order 450789469 fulfilled (null-company 1Z2345)"
    assert idents(shipped) == {("shopify_order_id", "450789469")}
    body.update(shipment_status="picked_up", name="#1001.1", updated_at="2013-11-02T10:00:00Z")
    collected = one("fulfillments/update", body)
    assert (collected.kind, collected.summary) == (
        "order_collected",
        "Order #1001 collected in store",
    )
    assert idents(collected) == {
        ("shopify_order_id", "450789469"),
        ("order_id", f"1001@{SHOP}"),
    }
    assert collected.event_id == shipped.event_id
    assert collected.attributes[REVISION_KEY] > shipped.attributes[REVISION_KEY]
    body["shipment_status"] = "ready_for_pickup"
    assert one("fulfillments/update", body).kind == "order_ready_for_pickup"


def test_customer_record_carries_identifiers_and_names() -> None:
    event = one("customers/create", sample("shopify_customers_create"))
    assert (event.event_id, event.kind) == ("shopify:customer-207119551", "identified")
    assert idents(event) == {
        ("email", "bob.norman@hostmail.com"),
        ("shopify_customer_id", "207119551"),
    }
    assert event.attributes["traits"] == {
        "name": "Bob Norman",
        "first_name": "Bob",
        "last_name": "Norman",
    }
    assert event.summary == "Shop customer record: Bob Norman"
    updated = {**sample("shopify_customers_create"), "updated_at": "2016-01-01T00:00:00Z"}
    assert one("customers/update", updated).event_id == event.event_id


def test_every_contract_topic_is_mapped_and_others_are_ignored() -> None:
    assert {
        "orders/create",
        "orders/updated",
        "orders/cancelled",
        "orders/fulfilled",
        "fulfillments/create",
        "refunds/create",
        "customers/create",
        "customers/update",
    } <= TOPICS
    assert map_webhook("products/update", {"id": 1}, RECEIVED) == []


@pytest.mark.parametrize(
    ("topic", "change", "reason"),
    [
        ("refunds/create", {"order_id": None}, "order_id: is required"),
        ("refunds/create", {"created_at": "soon"}, "created_at: is not an ISO-8601"),
        ("fulfillments/create", {"id": "abc"}, "id: must be a numeric id"),
        ("customers/create", {"id": None}, "id: is required"),
    ],
)
def test_refusals_name_the_field(topic: str, change: dict[str, Any], reason: str) -> None:
    name = {"refunds/create": "refunds", "fulfillments/create": "fulfillments"}.get(
        topic, "customers"
    )
    body = {**sample(f"shopify_{name}_create"), **change}
    with pytest.raises(InvalidEvent, match=f"^{reason}"):
        map_webhook(topic, body, RECEIVED)
