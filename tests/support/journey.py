"""A cross-channel customer journey as canonical events (shaped like the adapters' output),
relative to a given time, for API, stream and browser tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from schemas import CanonicalEvent, Identifier

MARIA_PHONE_NATIONAL = "(415) 555-0132"
MARIA_PHONE = "+14155550132"
MARIA_EMAIL = "maria@shop.io"
OPEN_EMAIL_SUBJECT = "Gift wrapping for W-5001?"
ANSWERED_EMAIL_SUBJECT = "Collection time for order W-5001"
OPEN_CHAT_TEXT = "Hello, is anyone there?"
OLD_PAGE_VIEWS = 60


def _id(type_: str, value: str) -> Identifier:
    return Identifier.parse(type_, value)


def _event(
    event_id: str,
    at: datetime,
    channel: str,
    kind: str,
    summary: str,
    idents: list[tuple[str, str]],
    source: str = "test",
    **attributes: Any,
) -> CanonicalEvent:
    return CanonicalEvent(
        event_id=event_id,
        channel=channel,
        kind=kind,
        occurred_at=at,
        received_at=at + timedelta(seconds=1),
        source=source,
        identifiers=tuple(_id(t, v) for t, v in idents),
        summary=summary,
        attributes=attributes,
    )


def chat_message(
    event_id: str, at: datetime, conversation: str, text: str, role: str = "customer"
) -> CanonicalEvent:
    """A web-chat message; the customer's carries her email, an agent's only the chat id."""
    idents = [("conversation_id", conversation)]
    if role == "customer":
        idents.append(("email", MARIA_EMAIL))
    return _event(
        event_id,
        at,
        "chat",
        "chat_message",
        f"Chat ({role}): {text}",
        idents,
        source="web-chat",
        conversation_id=conversation,
        author_role=role,
        direction="inbound" if role == "customer" else "outbound",
        text=text,
    )


def email(
    event_id: str, at: datetime, subject: str, thread: str, sent: bool = False
) -> CanonicalEvent:
    """An email from Maria (`email_received`) or to her (`email_sent`) in `thread`."""
    kind, prefix = ("email_sent", "Email sent: ") if sent else ("email_received", "Email: ")
    return _event(
        event_id,
        at,
        "email",
        kind,
        prefix + subject,
        [("email", MARIA_EMAIL)],
        source="smtp",
        subject=subject,
        thread_id=thread,
        message_id=event_id,
        excerpt="Hi, about my order...",
    )


def maria_journey(now: datetime) -> list[CanonicalEvent]:
    """Browse, log in, chat, order, email (one answered, one not), chat again, call, survey."""
    d = timedelta(days=1)
    device = [("anonymous_id", "d-maria-1")]
    events = [
        _event(
            f"seg:old-{i:03d}",
            now - 60 * d + i * timedelta(hours=6),
            "web",
            "page_viewed",
            f"Viewed /catalogue/page-{i}",
            device,
            source="segment",
            path=f"/catalogue/page-{i}",
        )
        for i in range(OLD_PAGE_VIEWS)
    ]
    events += [
        _event(
            "seg:identify-1",
            now - 3 * d,
            "web",
            "identified",
            "Logged in",
            [
                *device,
                ("user_id", "u-42"),
                ("email", "Maria@Shop.io"),
                ("phone", MARIA_PHONE_NATIONAL),
            ],
            source="segment",
            traits={"name": "Maria Lopez", "plan": "gold"},
        ),
        chat_message("chat:conv-1:1", now - 2 * d, "conv-1", "Is the green jacket in stock?"),
        chat_message(
            "chat:conv-1:2", now - 2 * d + timedelta(minutes=2), "conv-1", "Yes!", "agent"
        ),
        _event(
            "shopify:order-5001",
            now - 2 * d + timedelta(minutes=30),
            "store",
            "order_placed",
            "Order W-5001: 1 item, 59.90 USD (collect in store)",
            [("email", MARIA_EMAIL), ("order_id", "W-5001")],
            source="shopify",
            order_name="W-5001",
            total="59.90",
            currency="USD",
            sales_channel="online",
        ),
        email("smtp:<m0@shop.io>", now - d, ANSWERED_EMAIL_SUBJECT, "<m0@shop.io>"),
        email(
            "smtp:<r0@company.example>",
            now - d + timedelta(hours=1),
            "Re: " + ANSWERED_EMAIL_SUBJECT,
            "<m0@shop.io>",
            sent=True,
        ),
        email("smtp:<m1@shop.io>", now - timedelta(hours=3), OPEN_EMAIL_SUBJECT, "<m1@shop.io>"),
        chat_message("chat:conv-2:1", now - timedelta(minutes=20), "conv-2", OPEN_CHAT_TEXT),
        _event(
            "connect:call-1",
            now - timedelta(minutes=10),
            "call_centre",
            "call_completed",
            "Call: 4 min, queue Orders",
            [("phone", MARIA_PHONE)],
            source="amazon-connect",
            queue="Orders",
            duration_s=240,
        ),
        _event(
            "survey:nps-1",
            now - timedelta(minutes=5),
            "survey",
            "survey_response",
            "NPS 9 (promoter)",
            [("email", MARIA_EMAIL)],
            source="surveys",
            metric="nps",
            score=9,
            scale_max=10,
        ),
    ]
    return events


def other_customers(now: datetime) -> list[CanonicalEvent]:
    """Two more customers whose names also start with "Mar"."""
    return [
        _event(
            "seg:identify-mario",
            now - timedelta(days=10),
            "web",
            "identified",
            "Logged in",
            [("email", "mario.rossi@mailhost.io")],
            traits={"name": "Mario Rossi"},
        ),
        _event(
            "seg:identify-marianne",
            now - timedelta(days=1),
            "web",
            "identified",
            "Logged in",
            [("email", "m.dupont@mailhost.io"), ("loyalty_id", "L-7781")],
            traits={"first_name": "Marianne", "last_name": "Dupont"},
        ),
    ]
