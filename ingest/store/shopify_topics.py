"""Pure mapping of every Shopify webhook topic the gateway takes, by `X-Shopify-Topic`.

- `orders/*`: the order itself (`shopify.map_order`, one timeline item per order);
- `refunds/create`: a `return`, linked to its order through `shopify_order_id` (a refund
  names its order by the numeric id only), `event_id` `shopify:refund-<id>`;
- `fulfillments/create` / `fulfillments/update`: `order_collected` when the shipment
  status is `picked_up` (a pickup collected in store), `order_ready_for_pickup` for
  `ready_for_pickup`, else `order_fulfilled`; one item per fulfillment, revised by
  `updated_at`;
- `customers/create` / `customers/update`: `identified` (the shop's customer record: email,
  phone, `shopify_customer_id` and the name traits), one item per customer.

Other topics are acknowledged without an event: Shopify removes subscriptions that keep
failing, and a topic subscribed by mistake is not bad input.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from ingest.common import name_traits, obj, source_event, text, try_identifier
from ingest.store.shopify import (
    CUSTOMER_ID,
    SOURCE,
    map_order,
    money,
    numeric_id,
    order_lines,
    order_number_id,
    order_reference,
)
from ingest.store.shopify import (
    TOPICS as ORDER_TOPICS,
)
from schemas import CanonicalEvent, Channel, Identifier, InvalidEvent
from schemas.events import REVISION_KEY, revision_stamp
from schemas.identifiers import EMAIL, PHONE
from schemas.timestamps import parse_timestamp

FULFILLMENT_TOPICS: Final = frozenset({"fulfillments/create", "fulfillments/update"})
CUSTOMER_TOPICS: Final = frozenset({"customers/create", "customers/update"})
TOPICS: Final = ORDER_TOPICS | FULFILLMENT_TOPICS | CUSTOMER_TOPICS | {"refunds/create"}


@dataclass(frozen=True)
class Delivery:
    """What Shopify's headers say of one webhook delivery (kept in the event's attributes)."""

    shop_domain: str | None = None
    webhook_id: str | None = None
    triggered_at: str | None = None


_NONE: Final = Delivery()


def map_webhook(
    topic: str,
    body: Any,
    received_at: datetime,
    region: str = "US",
    delivery: Delivery = Delivery(),
) -> list[CanonicalEvent]:
    """The events of one webhook: one, or none for a topic not mapped."""
    if topic not in TOPICS:
        return []
    if not isinstance(body, Mapping):
        raise InvalidEvent(f"body: must be a JSON object (the {topic.split('/')[0]} resource)")
    if topic in ORDER_TOPICS:
        return [map_order(body, received_at, region, topic=topic, **asdict(delivery))]
    where = {"topic": topic, "shop_domain": delivery.shop_domain, "webhook_id": delivery.webhook_id}
    if topic == "refunds/create":
        return [_refund(body, received_at, where)]
    if topic in FULFILLMENT_TOPICS:
        return [_fulfillment(body, received_at, region, where)]
    return [_customer(body, received_at, region, where)]


def _id(body: Mapping[str, Any], name: str) -> str:
    value = numeric_id(body.get(name), name)
    if value is None:
        raise InvalidEvent(f"{name}: is required")
    return str(value)


#: (occurred, received) and (identifiers, summary, attributes) of an event.
Times = tuple[datetime, datetime]
Content = tuple[Iterable[Identifier | None], str, dict[str, Any]]


def _event(natural: str, kind: str, times: Times, content: Content, where: Any) -> CanonicalEvent:
    identifiers, summary, attrs = content
    merged = {**attrs, **where}
    kind_of = natural.split("-")[0]
    return source_event(
        kind_of, SOURCE, natural, Channel.STORE, kind, times, identifiers, summary, merged
    )


def _refund(
    body: Mapping[str, Any], received_at: datetime, where: Mapping[str, Any]
) -> CanonicalEvent:
    refund_id, order_id = _id(body, "id"), _id(body, "order_id")
    created = parse_timestamp(body.get("created_at"), "created_at")
    refunded = body.get("refund_line_items") or []
    if not isinstance(refunded, list):
        raise InvalidEvent("refund_line_items: must be a list")
    # Each refunded line: the order's line item, with the quantity refunded.
    items_refunded = [
        {**obj(line, "line_item", f"refund_line_items[{i}]"), "quantity": line.get("quantity", 1)}
        if isinstance(line, Mapping)
        else line
        for i, line in enumerate(refunded)
    ]
    lines, items = order_lines(items_refunded, "refund_line_items")
    total, currency = _refunded(body)
    detail = f"{items} item{'' if items == 1 else 's'}"
    if total is not None:
        detail += f", {total} {currency or ''}".rstrip() + " refunded"
    attrs = {
        "shopify_refund_id": refund_id,
        "shopify_order_id": order_id,
        "note": text(body, "note", "note"),
        "restock": body.get("restock") if isinstance(body.get("restock"), bool) else None,
        "items": items,
        "lines": lines,
        "total": total,
        "currency": currency,
    }
    summary = f"Return on order {order_id}: {detail}"
    ids = (order_number_id(order_id),)
    times = (created, received_at)
    return _event(f"refund-{refund_id}", "return", times, (ids, summary, attrs), where)


def _refunded(body: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """Money refunded: the sum of the refund transactions, and their currency."""
    total, currency, seen = Decimal(0), None, False
    for index, tx in enumerate(body.get("transactions") or []):
        if not isinstance(tx, Mapping) or tx.get("kind") not in ("refund", None):
            continue
        amount = money(tx.get("amount"), f"transactions[{index}].amount")
        if amount is not None:
            total, seen = total + Decimal(amount), True
            currency = currency or text(tx, "currency", f"transactions[{index}].currency")
    return (f"{total:.2f}" if seen else None), currency


def _fulfillment(
    body: Mapping[str, Any], received_at: datetime, region: str, where: Mapping[str, Any]
) -> CanonicalEvent:
    fulfillment_id, order_id = _id(body, "id"), _id(body, "order_id")
    created = parse_timestamp(body.get("created_at"), "created_at")
    updated = (
        parse_timestamp(body["updated_at"], "updated_at") if body.get("updated_at") else created
    )
    shipment = (text(body, "shipment_status", "shipment_status") or "").lower() or None
    kind = {"picked_up": "order_collected", "ready_for_pickup": "order_ready_for_pickup"}.get(
        shipment or "", "order_fulfilled"
    )
    name = text(body, "name", "name")
    order_name = name.rsplit(".", 1)[0] if name else None
    shop = where.get("shop_domain")
    ids: list[Identifier | None] = [
        try_identifier(EMAIL, body.get("email"), region),
        order_number_id(order_id),
        order_reference(order_name, shop) if order_name else None,
    ]
    label = order_name or order_id
    what = {
        "order_collected": f"Order {label} collected in store",
        "order_ready_for_pickup": f"Order {label} ready for pickup",
    }.get(kind, f"Order {label} fulfilled")
    tracking = text(body, "tracking_company", "tracking_company")
    number = text(body, "tracking_number", "tracking_number")
    if kind == "order_fulfilled" and (tracking or number):
        what += f" ({' '.join(p for p in (tracking, number) if p)})"
    attrs = {
        "shopify_fulfillment_id": fulfillment_id,
        "shopify_order_id": order_id,
        "order_name": order_name,
        "status": text(body, "status", "status"),
        "shipment_status": shipment,
        "tracking_company": tracking,
        "tracking_number": number,
        "tracking_url": text(body, "tracking_url", "tracking_url"),
        "location_id": numeric_id(body.get("location_id"), "location_id"),
        REVISION_KEY: revision_stamp(updated),
    }
    natural = f"fulfillment-{fulfillment_id}"
    return _event(natural, kind, (updated, received_at), (ids, what, attrs), where)


def _customer(
    body: Mapping[str, Any], received_at: datetime, region: str, where: Mapping[str, Any]
) -> CanonicalEvent:
    customer_id = _id(body, "id")
    created = parse_timestamp(body.get("created_at"), "created_at")
    updated = (
        parse_timestamp(body["updated_at"], "updated_at") if body.get("updated_at") else created
    )
    traits = name_traits(None, body.get("first_name"), body.get("last_name"))
    ids = [
        try_identifier(EMAIL, body.get("email"), region),
        try_identifier(PHONE, body.get("phone"), region),
        try_identifier(CUSTOMER_ID, customer_id, region),
    ]
    attrs = {
        "shopify_customer_id": customer_id,
        "traits": traits or None,
        "orders_count": body.get("orders_count")
        if isinstance(body.get("orders_count"), int)
        else None,
        "state": text(body, "state", "state"),
        "verified_email": body.get("verified_email")
        if isinstance(body.get("verified_email"), bool)
        else None,
        REVISION_KEY: revision_stamp(updated),
    }
    who = traits.get("name", "")
    summary = f"Shop customer record: {who}" if who else "Shop customer record"
    natural = f"customer-{customer_id}"
    content = (ids, summary, attrs)
    return _event(natural, "identified", (created, received_at), content, where)
