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
from typing import Any, Final

import orjson

from bench.people import Person, person
from services.synthetic import native
from services.synthetic.native import (
    BATCH,
    CHAT,
    CONNECT,
    EMAIL,
    JSON,
    RECEIPTS,
    RFC822,
    SEGMENT,
    SURVEYS,
    Request,
    iso,
)

__all__ = [
    "BATCH",
    "CHAT",
    "CONNECT",
    "EMAIL",
    "EPOCH",
    "JSON",
    "RECEIPTS",
    "RFC822",
    "SEGMENT",
    "SURVEYS",
    "Request",
    "iso",
    "journeys",
    "page_marker",
    "stream",
]
EPOCH: Final = datetime(2026, 10, 1, tzinfo=UTC)
PAGES: Final = ("/", "/new-in", "/lamps", "/lamps/desk-lamp", "/collect", "/account", "/help")
PRODUCTS: Final = (
    ("LAMP-2", "Desk lamp", "59.90"),
    ("MUG-1", "Mug", "9.95"),
    ("RUG-7", "Rug", "129.00"),
)


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
                self.out.append(native.batched(p, items))

    def journey(self, p: Person, j: int) -> None:
        """One customer journey across channels (j numbers journeys within the run)."""
        rng = random.Random(self.seed * 1_000_003 + j)
        t = EPOCH + timedelta(seconds=rng.randrange(30 * 86400))
        device = p.devices[rng.randrange(len(p.devices))]
        tag = f"{self.seed}-{j}"

        def at(minutes: float) -> str:
            return iso(t + timedelta(minutes=minutes))

        for k in range(rng.randint(2, 6)):
            self.add(SEGMENT, native.page(device, f"p-{tag}-{k}", PAGES[rng.randrange(7)], at(k)))
        if rng.random() < 0.5:
            sku, title, price = PRODUCTS[rng.randrange(3)]
            props = {"sku": sku, "name": title, "price": price}
            self.add(SEGMENT, native.track(device, f"t-{tag}", "Product Viewed", props, at(7)))
        if rng.random() < 0.6:
            self.add(SEGMENT, native.identify(p, device, f"i-{tag}", at(8)))
        order = f"W-{tag}"
        if rng.random() < 0.35:
            self._chat(p, f"conv-{tag}", order, rng, at)
        if rng.random() < 0.3:
            product = PRODUCTS[rng.randrange(3)]
            store = f"S-{rng.randrange(40):02d}"
            self.add(RECEIPTS, native.receipt(p, f"R-{tag}", order, at(90), store, product))
        if rng.random() < 0.25:
            contact_at = t + timedelta(days=1)
            contact = native.connect_contact(
                p.phone_e164, f"ct-{tag}", contact_at, {"orderId": order}
            )
            self.add(CONNECT, contact)
        if rng.random() < 0.15:
            related = {"channel": "store", "order_id": order}
            answer = native.survey(
                f"nps-{tag}", "nps", rng.randint(0, 10), at(26 * 60), {"email": p.email}, related
            )
            self.add(SURVEYS, answer)
        if rng.random() < 0.05:
            self.out.append(Request(EMAIL, RFC822, _email(p, tag, order, t), 1))
            self.events += 1

    def _chat(
        self, p: Person, conv: str, order: str, rng: random.Random, at: Callable[[float], str]
    ) -> None:
        messages = [
            ("customer", f"Where is order {order}?", at(71 + m))
            if m % 2 == 0
            else ("agent", "Let me check that.", at(71 + m))
            for m in range(rng.randint(2, 5))
        ]
        for item in native.chat(conv, {"email": p.email}, at(70), messages, at(80)):
            self.add(CHAT, item)


def page_marker(anonymous_id: str, ts: datetime) -> dict[str, Any]:
    """A page view by a brand-new device: visible in the API once its lookup stops 404ing."""
    return native.page(anonymous_id, f"mk-{anonymous_id}", "/", iso(ts))


def _email(p: Person, tag: str, order: str, t: datetime) -> bytes:
    return native.email(
        (p.name, p.email),
        "help@shop.example.io",
        f"Collection time for order {order}",
        t + timedelta(days=1),
        f"<{tag}@mail.example.org>",
        f"Hi, what time can I pick up order {order}?\n\n{p.first.title()}",
    )


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
