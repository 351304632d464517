"""`threadline dev --demo`: send the design's journey, and a few more, through the real adapters.

Maria browses on her phone, logs in at her desk, chats, buys online for in-store collection,
emails about the collection time, calls, and answers a survey. Every step goes through the
ingest gateway in the channel's native format, as the real systems would send it.
"""

from __future__ import annotations

import base64
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

import orjson

WRITE_KEY = "dev-write-key"
MARIA_PHONE = "+14155550132"


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _journey(
    n: int, first: str, last: str, phone: str, now: datetime
) -> Iterator[tuple[str, str, bytes]]:
    """(path, content type, body) for one customer's cross-channel journey."""
    email = f"{first}.{last}@example-shop.io".lower()
    anon, user, order = f"demo-device-{n}", f"cust-{1040 + n}", f"W-{5000 + n}"
    t = now - timedelta(days=2, hours=n)

    def at(minutes: int) -> datetime:
        return t + timedelta(minutes=minutes)

    segment = {
        "batch": [
            {
                "type": "page",
                "anonymousId": anon,
                "name": "Home",
                "messageId": f"demo-{n}-p1",
                "timestamp": _iso(at(0)),
                "properties": {"url": "https://example-shop.io/"},
            },
            {
                "type": "page",
                "anonymousId": anon,
                "name": "Click & Collect",
                "messageId": f"demo-{n}-p2",
                "timestamp": _iso(at(3)),
                "properties": {"url": "https://example-shop.io/collect"},
            },
            {
                "type": "identify",
                "anonymousId": anon,
                "userId": user,
                "messageId": f"demo-{n}-i1",
                "timestamp": _iso(at(60)),
                "traits": {"email": email, "phone": phone, "name": f"{first} {last}"},
            },
        ]
    }
    yield "/v1/batch", "application/json", orjson.dumps(segment)
    conversation = f"demo-conv-{n}"
    chat = {
        "events": [
            {
                "conversation_id": conversation,
                "type": "started",
                "occurred_at": _iso(at(70)),
                "customer": {"email": email},
            },
            {
                "conversation_id": conversation,
                "type": "message",
                "message_id": "m1",
                "author_role": "customer",
                "text": f"Can I collect order {order} tomorrow?",
                "occurred_at": _iso(at(71)),
                "customer": {"email": email},
            },
            {
                "conversation_id": conversation,
                "type": "message",
                "message_id": "m2",
                "author_role": "agent",
                "author_name": "Sam",
                "occurred_at": _iso(at(73)),
                "text": "Yes, from 10am at the Market Street store.",
            },
        ]
    }
    yield "/chat/events", "application/json", orjson.dumps(chat)
    receipt = {
        "receipt_id": f"R-{n}",
        "store_id": "web",
        "occurred_at": _iso(at(90)),
        "customer": {"email": email},
        "order_id": order,
        "total": "59.90",
        "currency": "USD",
        "lines": [{"sku": "LAMP-2", "description": "Desk lamp", "quantity": 1, "amount": "59.90"}],
    }
    yield "/store/receipts", "application/json", orjson.dumps(receipt)
    mail = EmailMessage()
    mail["From"] = f"{first} {last} <{email}>"
    mail["To"] = "help@example-shop.io"
    mail["Subject"] = f"Collection time for order {order}"
    mail["Date"] = format_datetime(at(24 * 60))
    mail["Message-ID"] = f"<demo-{n}-collection@example-shop.io>"
    mail.set_content(f"Hi, what time can I pick up order {order} today?\n\n{first}")
    yield "/email/inbound", "message/rfc822", mail.as_bytes()
    call_start, call_end = at(24 * 60 + 40), at(24 * 60 + 46)
    contact = {
        "ContactId": f"demo-contact-{n}",
        "Channel": "VOICE",
        "InitiationMethod": "INBOUND",
        "InitiationTimestamp": _iso(call_start),
        "DisconnectTimestamp": _iso(call_end),
        "LastUpdateTimestamp": _iso(call_end + timedelta(minutes=1)),
        "CustomerEndpoint": {"Address": phone, "Type": "TELEPHONE_NUMBER"},
        "Queue": {"Name": "Collections", "Duration": 20},
        "Agent": {
            "Username": "jdoe",
            "ConnectedToAgentTimestamp": _iso(call_start),
            "AgentInteractionDuration": 330,
        },
        "Attributes": {"orderId": order},
    }
    yield "/call-centre/amazon-connect", "application/json", orjson.dumps(contact)
    survey = {
        "response_id": f"demo-nps-{n}",
        "survey_id": "post-collection",
        "metric": "nps",
        "score": 9 - n % 8,
        "comment": "Quick collection.",
        "responded_at": _iso(at(26 * 60)),
        "respondent": {"email": email},
        "related": {"channel": "store", "order_id": order},
    }
    yield "/surveys/responses", "application/json", orjson.dumps(survey)


PEOPLE = [
    ("Maria", "Lopez", MARIA_PHONE),
    ("James", "Okafor", "+14155550177"),
    ("Aiko", "Tanaka", "+14155550190"),
]


def load_demo(ingest_url: str, now: datetime | None = None) -> int:
    """Send every demo journey to the gateway; returns the number of requests accepted."""
    now = now or datetime.now(UTC)
    auth = "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
    sent = 0
    for n, (first, last, phone) in enumerate(PEOPLE):
        for path, content_type, body in _journey(n, first, last, phone, now):
            request = urllib.request.Request(  # noqa: S310 - loopback URL built by the dev stack
                ingest_url + path,
                data=body,
                method="POST",
                headers={"Content-Type": content_type, "Authorization": auth},
            )
            with urllib.request.urlopen(request, timeout=15) as resp:  # noqa: S310
                if resp.status >= 300:
                    raise RuntimeError(f"demo request to {path} answered {resp.status}")
            sent += 1
    return sent
