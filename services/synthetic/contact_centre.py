"""A retailer's contact centre over `days` days, as its channel systems would report it: each
customer browses, buys online or in store, and now and then needs help.

A need starts on the help pages for most customers; some find the answer there, the others
call, chat or email. A contact resolves the matter first time with a probability by channel
(calls best, email worst); unresolved, the customer comes back a day or two later on the same
channel or another one. Emails are answered within hours, late, or not before the customer
calls. Some customers answer a survey afterwards, and the score follows what they went
through: one contact, repeating themselves, switching channel, giving up.

Deterministic: customer `n` of seed `s` always lives the same 90 days (relative to `anchor`);
steps that would fall after `anchor` have not happened yet.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from services.synthetic import native
from services.synthetic.people import Person

COMPANY: Final = ("Example Shop Support", "support@example-shop.io")
HELP_DESK: Final = "help@example-shop.io"
PRODUCTS: Final = (
    ("LAMP-2", "Desk lamp", "59.90"),
    ("MUG-1", "Mug", "9.95"),
    ("RUG-7", "Rug", "129.00"),
    ("CHAIR-3", "Reading chair", "249.00"),
)
BROWSE: Final = ("/", "/new-in", "/lamps", "/lamps/desk-lamp", "/rugs", "/chairs", "/account")
#: Why customers get in touch: (reason, weight, about an order, help page, queue).
REASONS: Final = (
    ("delivery", 30, True, "/help/delivery", "Orders"),
    ("return", 20, True, "/help/returns", "Returns"),
    ("product", 20, False, "/faq", "Sales"),
    ("account", 15, False, "/help/account", "Accounts"),
    ("billing", 15, False, "/help/payments", "Billing"),
)
#: Chance the first contact resolves the matter, per channel (SQM's call FCR is about 70 %).
RESOLVES: Final = {"call_centre": 0.76, "chat": 0.71, "email": 0.6}
EPISODES: Final = ((1, 40), (2, 30), (3, 18), (4, 12))
KINDS: Final = (("buy_online", 28), ("buy_store", 20), ("service", 40), ("browse", 12))


@dataclass(frozen=True)
class Item:
    """One native message a channel system sends at `at` to route `path` (a JSON item of a
    batched route, or a whole `native.Request`)."""

    at: datetime
    path: str
    payload: Any


def pick(rng: random.Random, weighted: tuple[tuple[Any, int], ...]) -> Any:
    """A weighted choice."""
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


@dataclass
class Life:
    """One customer's `days` days, collected as items in any order."""

    p: Person
    rng: random.Random
    anchor: datetime
    since: datetime
    tag: str
    items: list[Item] = field(default_factory=list)
    orders: list[tuple[str, datetime]] = field(default_factory=list)
    identified: set[str] = field(default_factory=set)
    steps: int = 0

    def mid(self) -> str:
        """A fresh deterministic message id."""
        self.steps += 1
        return f"{self.tag}-{self.steps}"

    def add(self, at: datetime, path: str, payload: Any) -> bool:
        """Record a message; False (and nothing recorded) if it has not happened yet, or
        happened before the `days` days shown."""
        if not self.since <= at < self.anchor:
            return False
        self.items.append(Item(at, path, payload))
        return True

    # -- self-service and purchases -------------------------------------------------------

    def visit(self, at: datetime, pages: list[str]) -> datetime:
        """A web visit (logging in the first time on a device); returns when it ended."""
        device = self.p.devices[self.rng.randrange(len(self.p.devices))]
        for k, path in enumerate(pages):
            t = at + timedelta(minutes=1.5 * k)
            self.add(t, native.SEGMENT, native.page(device, self.mid(), path, native.iso(t)))
            if k == 0 and device not in self.identified and self.since <= t < self.anchor:
                self.identified.add(device)
                ident = native.identify(self.p, device, self.mid(), native.iso(t))
                self.add(t + timedelta(seconds=20), native.SEGMENT, ident)
        return at + timedelta(minutes=1.5 * len(pages))

    def browse(self, at: datetime) -> datetime:
        pages = ["/", *self.rng.sample(BROWSE[1:], self.rng.randint(1, 3))]
        return self.visit(at, pages)

    def buy_online(self, at: datetime) -> None:
        end = self.browse(at)
        product = PRODUCTS[self.rng.randrange(len(PRODUCTS))]
        number = 10_000 + len(self.orders) + 10 * self.p.n
        order_id = 5_000_000_000 + number
        placed = end + timedelta(minutes=self.rng.uniform(1, 20))
        pickup = self.rng.random() < 0.3
        webhook = native.shopify_order(self.p, order_id, number, placed, product, pickup)
        if self.add(placed, native.SHOPIFY, webhook):
            self.orders.append((str(number), placed))
            if self.rng.random() < 0.15:
                self.post_purchase_survey(placed + timedelta(days=2), "web", str(number))

    def buy_store(self, at: datetime) -> None:
        if self.rng.random() < 0.4:
            self.browse(at - timedelta(days=self.rng.uniform(0.5, 3)))
        product = PRODUCTS[self.rng.randrange(len(PRODUCTS))]
        store = f"S-{self.rng.randrange(12):02d}"
        rid = self.mid()
        order = f"R{rid}"
        receipt = native.receipt(self.p, rid, order, native.iso(at), store, product)
        if self.p.loyalty_id:
            receipt["customer"] = {"loyalty_id": self.p.loyalty_id, "email": self.p.email}
        if self.add(at, native.RECEIPTS, receipt) and self.rng.random() < 0.08:
            self.post_purchase_survey(at + timedelta(days=1), "store", None)

    def post_purchase_survey(self, at: datetime, channel: str, order: str | None) -> None:
        score = max(0, min(10, round(self.rng.gauss(8.4, 1.5))))
        related = {"channel": channel, **({"order_id": order} if order else {})}
        comment = "Easy to order." if score >= 9 else "Fine." if score >= 7 else "Too slow."
        answer = native.survey(self.mid(), "nps", score, native.iso(at), {"email": self.p.email},
                               related, "post-purchase", comment)  # fmt: skip
        self.add(at, native.SURVEYS, answer)
