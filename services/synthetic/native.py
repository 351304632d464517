"""Native payloads of the channel systems, as they send them: Segment messages, web-chat
events, till receipts, Amazon Connect contact records, survey responses, RFC 5322 mail and
Shopify order webhooks; and the requests that carry them, batched as the senders batch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Final

import orjson

from services.synthetic.people import Person

SEGMENT, CHAT, RECEIPTS, CONNECT, SURVEYS, EMAIL, SHOPIFY = (
    "/v1/batch",
    "/chat/events",
    "/store/receipts",
    "/call-centre/amazon-connect",
    "/surveys/responses",
    "/email/inbound",
    "/store/shopify",
)
#: Messages per request, per route, as the sending systems batch them (mail and Shopify
#: webhooks carry one each).
BATCH: Final = {SEGMENT: 100, CHAT: 50, RECEIPTS: 25, CONNECT: 25, SURVEYS: 25}
JSON, RFC822 = "application/json", "message/rfc822"
IPHONE: Final = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X)"
#: The demo company's Shopify shop.
SHOP: Final = "example-shop.myshopify.com"
Product = tuple[str, str, str]  # sku, title, price


@dataclass(frozen=True)
class Request:
    """One HTTP request a channel system sends, and how many timeline events it carries."""

    path: str
    content_type: str
    body: bytes
    events: int
    headers: tuple[tuple[str, str], ...] = ()


def iso(at: datetime) -> str:
    """UTC ISO 8601 with a Z."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def wrap(path: str, items: list[Any]) -> Any:
    """The body one batched request of `path` carries."""
    if path == SEGMENT:
        return {
            "batch": items,
            "context": {"library": {"name": "analytics-python", "version": "2.4.0"}},
        }
    if path == CHAT:
        return {"events": items}
    if path == SURVEYS:
        return {"responses": items}
    return items


def batched(path: str, items: list[Any]) -> Request:
    """One request of `path` carrying `items`."""
    return Request(path, JSON, orjson.dumps(wrap(path, items)), len(items))


def page(
    device: str, mid: str, path: str, ts: str, host: str = "shop.example.io"
) -> dict[str, Any]:
    """A Segment `page` of `path` by an anonymous device."""
    return {
        "type": "page", "anonymousId": device, "messageId": mid, "timestamp": ts,
        "name": path.strip("/") or "Home",
        "properties": {"url": f"https://{host}{path}", "path": path},
        "context": {"userAgent": IPHONE},
    }  # fmt: skip


def track(device: str, mid: str, name: str, props: dict[str, Any], ts: str) -> dict[str, Any]:
    """A Segment `track` event."""
    return {"type": "track", "anonymousId": device, "messageId": mid, "timestamp": ts,
            "event": name, "properties": props}  # fmt: skip


def identify(p: Person, device: str, mid: str, ts: str) -> dict[str, Any]:
    """A Segment `identify`: the device logs in as the person."""
    traits = {"email": p.email, "phone": p.phone_national, "name": p.name}
    if p.loyalty_id:
        traits["loyalty_id"] = p.loyalty_id
    return {"type": "identify", "anonymousId": device, "userId": p.user_id, "messageId": mid,
            "timestamp": ts, "traits": traits}  # fmt: skip


def chat(
    conv: str,
    who: dict[str, str],
    started: str,
    messages: Sequence[tuple[str, str, str]],
    ended: str,
    agent: str = "Sam",
) -> list[dict[str, Any]]:
    """A web-chat conversation: started, (role, text, time) messages, ended."""
    out: list[dict[str, Any]] = [
        {"conversation_id": conv, "type": "started", "occurred_at": started, "customer": who}
    ]
    for m, (role, text, ts) in enumerate(messages):
        msg: dict[str, Any] = {
            "conversation_id": conv, "type": "message", "message_id": f"m{m}", "occurred_at": ts,
        }  # fmt: skip
        if role == "customer":
            msg.update(author_role="customer", customer=who, text=text)
        else:
            msg.update(author_role="agent", author_name=agent, text=text)
        out.append(msg)
    out.append({"conversation_id": conv, "type": "ended", "occurred_at": ended})
    return out


def receipt(
    p: Person, rid: str, order: str, ts: str, store_id: str, product: Product
) -> dict[str, Any]:
    """A till receipt (a store purchase), found by loyalty card or email."""
    sku, title, price = product
    customer = {"loyalty_id": p.loyalty_id} if p.loyalty_id else {"email": p.email}
    line = {"sku": sku, "description": title, "quantity": 1, "amount": price}
    return {"receipt_id": rid, "store_id": store_id, "occurred_at": ts,
            "customer": customer, "order_id": order, "total": price, "currency": "USD",
            "lines": [line]}  # fmt: skip


def connect_contact(
    phone: str,
    cid: str,
    start: datetime,
    attributes: dict[str, str],
    minutes: float = 6,
    queue: str = "Orders",
    agent: str = "jdoe",
) -> dict[str, Any]:
    """An Amazon Connect contact record of an inbound call answered by `agent`."""
    end = start + timedelta(minutes=minutes)
    return {
        "ContactId": cid, "Channel": "VOICE", "InitiationMethod": "INBOUND",
        "InitiationTimestamp": iso(start), "DisconnectTimestamp": iso(end),
        "LastUpdateTimestamp": iso(end + timedelta(minutes=1)),
        "CustomerEndpoint": {"Address": phone, "Type": "TELEPHONE_NUMBER"},
        "Queue": {"Name": queue, "Duration": 20},
        "Agent": {"Username": agent, "ConnectedToAgentTimestamp": iso(start),
                  "AgentInteractionDuration": int(minutes * 55)},
        "Attributes": attributes,
    }  # fmt: skip


def survey(
    rid: str,
    metric: str,
    score: int,
    ts: str,
    respondent: dict[str, str],
    related: dict[str, str],
    survey_id: str = "post-order",
    comment: str = "Quick and friendly.",
) -> dict[str, Any]:
    """An NPS, CSAT or CES response about a related interaction."""
    return {"response_id": rid, "survey_id": survey_id, "metric": metric, "score": score,
            "comment": comment, "responded_at": ts, "respondent": respondent,
            "related": related}  # fmt: skip


def email(
    sender: tuple[str, str],
    to: str,
    subject: str,
    at: datetime,
    message_id: str,
    body: str,
    in_reply_to: str | None = None,
) -> bytes:
    """An RFC 5322 message from (name, address) `sender`, optionally a reply in a thread."""
    mail = EmailMessage()
    mail["From"] = f"{sender[0]} <{sender[1]}>"
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = format_datetime(at)
    mail["Message-ID"] = message_id
    if in_reply_to is not None:
        mail["In-Reply-To"] = in_reply_to
        mail["References"] = in_reply_to
    mail.set_content(body)
    return mail.as_bytes()


def shopify_order(
    p: Person,
    order_id: int,
    number: int,
    at: datetime,
    product: Product,
    pickup: bool = False,
    name: str | None = None,
) -> Request:
    """A Shopify `orders/create` webhook of an online order (or a click-and-collect one),
    named `#<number>` unless the shop names its orders otherwise."""
    sku, title, price = product
    order: dict[str, Any] = {
        "id": order_id, "name": name or f"#{number}", "order_number": number,
        "email": p.email, "phone": p.phone_e164, "source_name": "web",
        "created_at": iso(at), "updated_at": iso(at), "currency": "USD",
        "total_price": price, "financial_status": "paid", "fulfillment_status": None,
        "customer": {"id": 7_000_000_000 + p.n, "email": p.email, "phone": p.phone_e164,
                     "first_name": p.first.title(), "last_name": p.last.title()},
        "line_items": [{"id": order_id * 10 + 1, "sku": sku, "title": title, "quantity": 1,
                        "price": price}],
        "shipping_lines": [{"title": "Store pickup" if pickup else "Standard",
                            "code": "pickup" if pickup else "standard", "price": "0.00"}],
    }  # fmt: skip
    headers = (("X-Shopify-Topic", "orders/create"), ("X-Shopify-Shop-Domain", SHOP))
    return Request(SHOPIFY, JSON, orjson.dumps(order), 1, headers)
