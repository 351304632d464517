"""Pure mapping of Shopify `orders/*` webhook payloads to canonical `store` events (no I/O).

DESIGN has no separate commerce channel, so every Shopify order is channel `store`:
`source_name` `pos` is an in-store purchase (`sales_channel: "in_store"`), anything else
(`web`, `shopify_draft_order`, apps) is `sales_channel: "online"`.

One timeline item per order: `event_id` is `shopify:order-<id>` for every topic and the
revision is `updated_at`, so `orders/updated` replaces the `orders/create` item. The kind
is the order's current state: `order_cancelled` when `cancelled_at` is set; for online
orders with `fulfillment_status` `fulfilled`, `order_collected` when a shipping line is a
pickup (code/title/source mentions pickup or collect) and `order_fulfilled` otherwise;
else `order_placed` (POS orders, fulfilled at the till, stay `order_placed`).

Identifiers: `email` (order and customer), `phone` (order, customer, billing address; the
shipping address may be a gift recipient, so not used), `shopify_customer_id`, the order
`name` as the `order_id` reference, normalised (`#1001` is `1001`) and scoped to the shop
(`1001@acme.myshopify.com`: two shops both have a #1001), and the numeric order id as the
`shopify_order_id` reference that refunds and fulfillments name. Shopify drops webhook
subscriptions that keep failing, so a malformed email/phone is skipped and noted in
`skipped_identifiers` rather than refusing the order. The customer's first and last name
are name traits (a high-priority source: the shop's own customer record).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from ingest.common import build_event, clip, name_traits, obj, text, try_identifier, unique
from schemas import CanonicalEvent, Channel, Identifier, InvalidEvent, InvalidIdentifier
from schemas.events import REVISION_KEY, make_event_id, revision_stamp
from schemas.identifiers import EMAIL, ORDER_ID, PHONE, SHOPIFY_ORDER_ID, normalise_order_id
from schemas.timestamps import parse_timestamp as iso_timestamp

SOURCE: Final = "shopify"
MAX_BODY_BYTES: Final = 2 * 1024 * 1024
MAX_LINES_KEPT: Final = 50
CUSTOMER_ID: Final = "shopify_customer_id"
#: Topics whose payload is the order resource.
TOPICS: Final = frozenset(
    {
        "orders/create",
        "orders/updated",
        "orders/cancelled",
        "orders/fulfilled",
        "orders/paid",
        "orders/partially_fulfilled",
    }
)
_PICKUP_WORDS: Final = ("pickup", "pick up", "pick-up", "collect")


def map_order(
    order: Any,
    received_at: datetime,
    default_region: str = "US",
    *,
    topic: str | None = None,
    webhook_id: str | None = None,
    shop_domain: str | None = None,
    triggered_at: str | None = None,
) -> CanonicalEvent:
    """Map one order payload; raise `InvalidEvent` naming the field."""
    if topic is not None and topic not in TOPICS:
        raise InvalidEvent(
            f"X-Shopify-Topic: {topic[:60]!r} is not one of {', '.join(sorted(TOPICS))}"
        )
    if not isinstance(order, Mapping):
        raise InvalidEvent("body: must be a JSON object (the order)")
    order_id = order.get("id")
    if (
        isinstance(order_id, bool)
        or not isinstance(order_id, int | str)
        or not str(order_id).strip()
    ):
        raise InvalidEvent("id: is required (the order id)")
    order_id = str(order_id).strip()
    if len(order_id) > 64:
        raise InvalidEvent("id: is longer than 64 characters")
    number = numeric_id(order.get("order_number"), "order_number")
    name = text(order, "name", "name") or f"#{number or order_id}"
    created = iso_timestamp(order.get("created_at"), "created_at")
    updated = (
        iso_timestamp(order["updated_at"], "updated_at")
        if order.get("updated_at") is not None
        else created
    )
    cancelled = order.get("cancelled_at") is not None
    if cancelled:
        iso_timestamp(order["cancelled_at"], "cancelled_at")
    in_store = (text(order, "source_name", "source_name") or "").lower() == "pos"
    pickup = _is_pickup(order)
    fulfillment = text(order, "fulfillment_status", "fulfillment_status")
    kind = "order_placed"
    if cancelled:
        kind = "order_cancelled"
    elif not in_store and fulfillment == "fulfilled":
        kind = "order_collected" if pickup else "order_fulfilled"
    skipped: list[str] = []
    identifiers = _identifiers(order, order_id, name, default_region, shop_domain, skipped)
    lines, items = order_lines(order.get("line_items"))
    total = money(order.get("total_price"), "total_price")
    currency = text(order, "currency", "currency")
    attrs: dict[str, Any] = {
        "shopify_order_id": order_id,
        "order_name": name,
        "order_number": number,
        "sales_channel": "in_store" if in_store else "online",
        "source_name": text(order, "source_name", "source_name"),
        "location_id": numeric_id(order.get("location_id"), "location_id"),
        "financial_status": text(order, "financial_status", "financial_status"),
        "fulfillment_status": fulfillment,
        "cancelled_at": order.get("cancelled_at"),
        "cancel_reason": text(order, "cancel_reason", "cancel_reason"),
        "pickup": pickup or None,
        "total": total,
        "currency": currency,
        "items": items,
        "lines": lines,
        "updated_at": updated.isoformat(),
        "topic": topic,
        "shop_domain": shop_domain,
        "webhook_id": webhook_id,
        "triggered_at": triggered_at,
        "skipped_identifiers": skipped or None,
        "traits": customer_names(order) or None,
        REVISION_KEY: revision_stamp(updated),
    }
    attrs = {k: v for k, v in attrs.items() if v is not None and v != ""}
    return build_event(
        "order",
        event_id=make_event_id(SOURCE, f"order-{order_id}"),
        channel=Channel.STORE,
        kind=kind,
        occurred_at=created,
        received_at=received_at,
        source=SOURCE,
        identifiers=identifiers,
        summary=clip(_summary(kind, name, items, total, currency, in_store, pickup)),
        attributes=attrs,
    )


def _identifiers(
    order: Mapping[str, Any],
    order_id: str,
    name: str,
    region: str,
    shop: str | None,
    skipped: list[str],
) -> tuple[Identifier, ...]:
    customer = obj(order, "customer", "customer")
    billing = obj(order, "billing_address", "billing_address")
    candidates = [
        (EMAIL, order.get("email"), "email"),
        (EMAIL, customer.get("email"), "customer.email"),
        (PHONE, order.get("phone"), "phone"),
        (PHONE, customer.get("phone"), "customer.phone"),
        (PHONE, billing.get("phone"), "billing_address.phone"),
        (CUSTOMER_ID, customer.get("id"), "customer.id"),
    ]
    found: list[Identifier | None] = []
    for type_, value, where in candidates:
        if value is None or value == "":
            continue
        ident = try_identifier(type_, value, region)
        if ident is None:
            skipped.append(where)
        found.append(ident)
    return unique([*found, order_reference(name, shop), order_number_id(order_id)])


def order_reference(name: str, shop: str | None) -> Identifier:
    """The order as customers quote it (`#1001`), scoped to its shop when the shop is known."""
    try:
        return Identifier(type=ORDER_ID, value=normalise_order_id(name, shop))
    except (InvalidIdentifier, ValueError):
        raise InvalidEvent("name: is not a usable order name") from None


def order_number_id(order_id: Any) -> Identifier:
    """Shopify's numeric order id (`shopify_order_id`): what refunds and fulfillments name."""
    ident = try_identifier(SHOPIFY_ORDER_ID, order_id, "US")
    if ident is None:
        raise InvalidEvent("order_id: is required (the order's numeric id)")
    return ident


def customer_names(order: Mapping[str, Any]) -> dict[str, str]:
    """Name traits of the order's customer (their record, else the billing address)."""
    for where in ("customer", "billing_address"):
        part = obj(order, where, where)
        traits = name_traits(None, part.get("first_name"), part.get("last_name"))
        if traits:
            return traits
    return {}


def order_lines(raw: Any, name: str = "line_items") -> tuple[list[dict[str, Any]], int]:
    """The lines kept (title, variant, SKU, quantity, price) and the item count of a list of
    line items named `name` in errors."""
    if raw is None:
        return [], 0
    if not isinstance(raw, list):
        raise InvalidEvent(f"{name}: must be a list")
    lines: list[dict[str, Any]] = []
    items = 0
    for index, line in enumerate(raw):
        where = f"{name}[{index}]"
        if not isinstance(line, Mapping):
            raise InvalidEvent(f"{where}: must be an object")
        quantity = line.get("quantity", 1)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 <= quantity < 10**6:
            raise InvalidEvent(f"{where}.quantity: must be a whole number")
        items += quantity
        if len(lines) < MAX_LINES_KEPT:
            kept = {
                "title": text(line, "title", f"{where}.title"),
                "variant": text(line, "variant_title", f"{where}.variant_title"),
                "sku": text(line, "sku", f"{where}.sku"),
                "quantity": quantity,
                "price": money(line.get("price"), f"{where}.price"),
            }
            lines.append({k: v for k, v in kept.items() if v is not None})
    return lines, items


def numeric_id(value: Any, where: str) -> int | str | None:
    """Shopify numeric ids (64-bit integers; some clients send them as strings)."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63:
        return value
    if (
        isinstance(value, str)
        and len(value) <= 64
        and value.strip().isascii()
        and value.strip().isdigit()
    ):
        return value.strip()
    raise InvalidEvent(f"{where}: must be a numeric id")


def money(value: Any, where: str) -> str | None:
    """Shopify sends amounts as decimal strings ("59.90"); kept as text, checked as decimal."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidEvent(f"{where}: must be a decimal amount")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidEvent(f"{where}: must be a decimal amount") from None
    if not amount.is_finite() or abs(amount) >= Decimal(10) ** 15:
        raise InvalidEvent(f"{where}: must be a finite amount")
    return str(value).strip() if isinstance(value, str) else f"{amount:.2f}"


def _is_pickup(order: Mapping[str, Any]) -> bool:
    shipping = order.get("shipping_lines")
    if not isinstance(shipping, list):
        return False
    for line in shipping:
        if isinstance(line, Mapping):
            words = " ".join(str(line.get(k, "")) for k in ("code", "title", "source")).lower()
            if any(w in words for w in _PICKUP_WORDS):
                return True
    return False


def _summary(
    kind: str,
    name: str,
    items: int,
    total: str | None,
    currency: str | None,
    in_store: bool,
    pickup: bool,
) -> str:
    head = {
        "order_cancelled": f"Cancelled order {name}",
        "order_fulfilled": f"Order {name} fulfilled",
        "order_collected": f"Order {name} collected",
    }.get(kind, f"Order {name}")
    detail = f"{items} item{'' if items == 1 else 's'}"
    if total is not None:
        detail += f", {total} {currency or ''}".rstrip()
    where = "in store" if in_store else "online, pickup" if pickup else "online"
    return f"{head}: {detail} ({where})"
