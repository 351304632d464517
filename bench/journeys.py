"""Realistic multi-channel journeys as the channel systems send them, batched per channel.

A journey: a web session (anonymous pages, product views, often a login that ties the device
to the account), then some of: a web chat, a store receipt, an Amazon Connect call, an
inbound email, a survey. Identifiers are shared across channels (email in chat and store,
phone in calls, an order id in the receipt, the call and the survey), so the worker has to
stitch them. Requests are batched as real senders do: Segment SDK flushes of up to 100
messages, chat widgets posting event lists, tills and Connect (Firehose) posting record lists.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Final

import orjson

from bench.people import Person, person

SEGMENT, CHAT, RECEIPTS, CONNECT, SURVEYS, EMAIL = (
    "/v1/batch",
    "/chat/events",
    "/store/receipts",
    "/call-centre/amazon-connect",
    "/surveys/responses",
    "/email/inbound",
)
#: Messages per request, per route, as the sending systems batch them.
BATCH: Final = {SEGMENT: 100, CHAT: 50, RECEIPTS: 25, CONNECT: 25, SURVEYS: 25}
JSON, RFC822 = "application/json", "message/rfc822"
EPOCH: Final = datetime(2026, 10, 1, tzinfo=UTC)
PAGES: Final = ("/", "/new-in", "/lamps", "/lamps/desk-lamp", "/collect", "/account", "/help")
PRODUCTS: Final = (
    ("LAMP-2", "Desk lamp", "59.90"),
    ("MUG-1", "Mug", "9.95"),
    ("RUG-7", "Rug", "129.00"),
)


@dataclass(frozen=True)
class Request:
    """One HTTP request a channel system sends, and how many timeline events it carries."""

    path: str
    content_type: str
    body: bytes
    events: int


def iso(at: datetime) -> str:
    """UTC ISO 8601 with a Z."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class JourneyBuilder:
    """Builds journeys into per-route buffers and cuts requests when a buffer is full."""

    seed: int
    out: list[Request] = field(default_factory=list)
    buffers: dict[str, list[Any]] = field(default_factory=dict)
    events: int = 0

    def add(self, path: str, item: Any) -> None:
        """Queue one native message for `path`; a full buffer becomes one request."""
        buf = self.buffers.setdefault(path, [])
        buf.append(item)
        self.events += 1
        if len(buf) >= BATCH[path]:
            self.flush(path)

    def flush(self, path: str | None = None) -> None:
        """Cut a request from one buffer (or all of them)."""
        for p in [path] if path else list(self.buffers):
            items = self.buffers.pop(p, [])
            if items:
                self.out.append(Request(p, JSON, orjson.dumps(_wrap(p, items)), len(items)))

    def journey(self, p: Person, j: int) -> None:
        """One customer journey across channels (j numbers journeys within the run)."""
        rng = random.Random(self.seed * 1_000_003 + j)
        t = EPOCH + timedelta(seconds=rng.randrange(30 * 86400))
        device = p.devices[rng.randrange(len(p.devices))]
        tag = f"{self.seed}-{j}"

        def at(minutes: float) -> str:
            return iso(t + timedelta(minutes=minutes))

        for k in range(rng.randint(2, 6)):
            self.add(SEGMENT, _page(device, f"p-{tag}-{k}", PAGES[rng.randrange(7)], at(k)))
        if rng.random() < 0.5:
            sku, title, price = PRODUCTS[rng.randrange(3)]
            props = {"sku": sku, "name": title, "price": price}
            self.add(SEGMENT, _track(device, f"t-{tag}", "Product Viewed", props, at(7)))
        if rng.random() < 0.6:
            self.add(SEGMENT, _identify(p, device, f"i-{tag}", at(8)))
        order = f"W-{tag}"
        if rng.random() < 0.35:
            self._chat(p, f"conv-{tag}", order, rng, at)
        if rng.random() < 0.3:
            self.add(RECEIPTS, _receipt(p, f"R-{tag}", order, rng, at(90)))
        if rng.random() < 0.25:
            self.add(CONNECT, _contact(p, f"ct-{tag}", order, t + timedelta(days=1)))
        if rng.random() < 0.15:
            self.add(SURVEYS, _survey(p, f"nps-{tag}", order, rng, at(26 * 60)))
        if rng.random() < 0.05:
            self.out.append(Request(EMAIL, RFC822, _email(p, tag, order, t), 1))
            self.events += 1

    def _chat(
        self, p: Person, conv: str, order: str, rng: random.Random, at: Callable[[float], str]
    ) -> None:
        who = {"email": p.email}
        self.add(
            CHAT,
            {"conversation_id": conv, "type": "started", "occurred_at": at(70), "customer": who},
        )
        for m in range(rng.randint(2, 5)):
            msg: dict[str, Any] = {
                "conversation_id": conv, "type": "message", "message_id": f"m{m}",
                "occurred_at": at(71 + m),
            }  # fmt: skip
            if m % 2 == 0:
                msg.update(author_role="customer", customer=who, text=f"Where is order {order}?")
            else:
                msg.update(author_role="agent", author_name="Sam", text="Let me check that.")
            self.add(CHAT, msg)
        self.add(CHAT, {"conversation_id": conv, "type": "ended", "occurred_at": at(80)})


def _wrap(path: str, items: list[Any]) -> Any:
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


def _page(device: str, mid: str, path: str, ts: str) -> dict[str, Any]:
    return {
        "type": "page", "anonymousId": device, "messageId": mid, "timestamp": ts,
        "name": path.strip("/") or "Home",
        "properties": {"url": f"https://shop.example.io{path}", "path": path},
        "context": {"userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X)"},
    }  # fmt: skip


def page_marker(anonymous_id: str, ts: datetime) -> dict[str, Any]:
    """A page view by a brand-new device: visible in the API once its lookup stops 404ing."""
    return _page(anonymous_id, f"mk-{anonymous_id}", "/", iso(ts))


def _track(device: str, mid: str, name: str, props: dict[str, Any], ts: str) -> dict[str, Any]:
    return {"type": "track", "anonymousId": device, "messageId": mid, "timestamp": ts,
            "event": name, "properties": props}  # fmt: skip


def _identify(p: Person, device: str, mid: str, ts: str) -> dict[str, Any]:
    traits = {"email": p.email, "phone": p.phone_national, "name": p.name}
    if p.loyalty_id:
        traits["loyalty_id"] = p.loyalty_id
    return {"type": "identify", "anonymousId": device, "userId": p.user_id, "messageId": mid,
            "timestamp": ts, "traits": traits}  # fmt: skip


def _receipt(p: Person, rid: str, order: str, rng: random.Random, ts: str) -> dict[str, Any]:
    sku, title, price = PRODUCTS[rng.randrange(3)]
    customer = {"loyalty_id": p.loyalty_id} if p.loyalty_id else {"email": p.email}
    line = {"sku": sku, "description": title, "quantity": 1, "amount": price}
    return {"receipt_id": rid, "store_id": f"S-{rng.randrange(40):02d}", "occurred_at": ts,
            "customer": customer, "order_id": order, "total": price, "currency": "USD",
            "lines": [line]}  # fmt: skip


def _contact(p: Person, cid: str, order: str, start: datetime) -> dict[str, Any]:
    end = start + timedelta(minutes=6)
    return {
        "ContactId": cid, "Channel": "VOICE", "InitiationMethod": "INBOUND",
        "InitiationTimestamp": iso(start), "DisconnectTimestamp": iso(end),
        "LastUpdateTimestamp": iso(end + timedelta(minutes=1)),
        "CustomerEndpoint": {"Address": p.phone_e164, "Type": "TELEPHONE_NUMBER"},
        "Queue": {"Name": "Orders", "Duration": 20},
        "Agent": {"Username": "jdoe", "ConnectedToAgentTimestamp": iso(start),
                  "AgentInteractionDuration": 330},
        "Attributes": {"orderId": order},
    }  # fmt: skip


def _survey(p: Person, rid: str, order: str, rng: random.Random, ts: str) -> dict[str, Any]:
    related = {"channel": "store", "order_id": order}
    return {"response_id": rid, "survey_id": "post-order", "metric": "nps",
            "score": rng.randint(0, 10), "comment": "Quick and friendly.", "responded_at": ts,
            "respondent": {"email": p.email}, "related": related}  # fmt: skip


def _email(p: Person, tag: str, order: str, t: datetime) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"{p.name} <{p.email}>"
    mail["To"] = "help@shop.example.io"
    mail["Subject"] = f"Collection time for order {order}"
    mail["Date"] = format_datetime(t + timedelta(days=1))
    mail["Message-ID"] = f"<{tag}@mail.example.org>"
    mail.set_content(f"Hi, what time can I pick up order {order}?\n\n{p.first.title()}")
    return mail.as_bytes()


RETURNING_SHARE: Final = 0.3


def stream(seed: int, new_from: int, returning: int, first_journey: int = 0) -> Iterator[Request]:
    """Endless requests: journeys of new people (numbered from `new_from`) and, for a
    `RETURNING_SHARE` of journeys, of people 0..returning-1 (already in the store).

    Journeys numbered from `first_journey`: phases that must not repeat an event use
    different ranges.
    """
    builder = JourneyBuilder(seed)
    rng = random.Random(seed + first_journey)
    j = first_journey
    while True:
        if returning and rng.random() < RETURNING_SHARE:
            n = rng.randrange(returning)
        else:
            n = new_from + j
        builder.journey(person(seed, n), j)
        j += 1
        yield from builder.out
        builder.out.clear()


def journeys(
    seed: int, events: int, new_from: int, returning: int, first: int = 0
) -> list[Request]:
    """The first requests of `stream` that carry at least `events` events."""
    out: list[Request] = []
    total = 0
    for request in stream(seed, new_from, returning, first):
        out.append(request)
        total += request.events
        if total >= events:
            break
    return out


def iter_bodies(requests: list[Request]) -> Iterator[tuple[str, Any]]:
    """(path, decoded JSON body) of every JSON request (for mapping to canonical events)."""
    for r in requests:
        if r.content_type == JSON:
            yield r.path, orjson.loads(r.body)
