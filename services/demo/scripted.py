"""The design's journey, lived by Maria and two others: she browses on her phone, logs in,
chats about collecting her online order, emails about the collection time and, with no
answer yet, calls; then answers a survey. In each channel's native format."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Final

from services.synthetic import native
from services.synthetic.contact_centre import HELP_DESK
from services.synthetic.people import Person

MARIA_PHONE: Final = "+14155550132"
PEOPLE: Final = (
    ("maria", "lopez", MARIA_PHONE),
    ("james", "okafor", "+14155550177"),
    ("aiko", "tanaka", "+14155550190"),
)


def scripted_person(n: int) -> Person:
    """Demo person `n` of `PEOPLE` (their email is not the company's domain)."""
    first, last, phone = PEOPLE[n]
    return Person(
        n=n,
        first=first,
        last=last,
        email=f"{first}.{last}@example-mail.com",
        phone_e164=phone,
        user_id=f"demo-cust-{1040 + n}",  # not a synthetic person's `cust-<n>`
        loyalty_id=None,
        devices=(f"demo-device-{n}",),
    )


def journey(n: int, anchor: datetime) -> Iterator[native.Request]:
    """The requests of person `n`'s journey, two days (and `n` hours) before `anchor`."""
    p = scripted_person(n)
    device, order, number = p.devices[0], f"W-{5000 + n}", 5000 + n
    t = anchor - timedelta(days=2, hours=n)

    def at(minutes: int) -> datetime:
        return t + timedelta(minutes=minutes)

    def ts(minutes: int) -> str:
        return native.iso(at(minutes))

    pages = [
        native.page(device, f"demo-{n}-p1", "/", ts(0), host="example-shop.io"),
        native.page(device, f"demo-{n}-p2", "/collect", ts(3), host="example-shop.io"),
        native.identify(p, device, f"demo-{n}-i1", ts(60)),
    ]
    yield native.batched(native.SEGMENT, pages)
    chat = native.chat(
        f"demo-conv-{n}",
        {"email": p.email},
        ts(70),
        [
            ("customer", f"Can I collect order {order} tomorrow?", ts(71)),
            ("agent", "Yes, from 10am at the Market Street store.", ts(73)),
        ],
        ts(75),
    )
    yield native.batched(native.CHAT, chat)
    lamp = ("LAMP-2", "Desk lamp", "59.90")
    yield native.shopify_order(p, 4_000_000_000 + n, number, at(90), lamp, True, name=order)
    mail = native.email(
        (p.name, p.email),
        HELP_DESK,
        f"Collection time for order {order}",
        at(24 * 60),
        f"<demo-{n}-collection@example-mail.com>",
        f"Hi, what time can I pick up order {order} today?\n\n{p.first.title()}",
    )
    yield native.Request(native.EMAIL, native.RFC822, mail, 1)
    call = native.connect_contact(
        p.phone_e164, f"demo-contact-{n}", at(24 * 60 + 40), {"orderId": order}, 6, "Collections"
    )
    yield native.batched(native.CONNECT, [call])
    survey = native.survey(
        f"demo-nps-{n}",
        "nps",
        9 - n % 8,
        ts(26 * 60),
        {"email": p.email},
        {"channel": "store", "order_id": order},
        "post-collection",
        "Quick collection.",
    )
    yield native.batched(native.SURVEYS, [survey])


def requests(anchor: datetime) -> list[native.Request]:
    """Every scripted journey's requests."""
    return [r for n in range(len(PEOPLE)) for r in journey(n, anchor)]
