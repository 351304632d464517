"""The slice of a timeline event the journey metrics and rules read (no PII), and what each
kind of event is to a contact centre: a contact, a self-service visit, a purchase, a survey."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

#: Channels where a person serves the customer: their contacts are "assisted".
ASSISTED_CHANNELS: Final = frozenset({"chat", "email", "call_centre", "store"})
#: The self-service channel: visits, never contacts.
SELF_SERVICE_CHANNEL: Final = "web"
#: Channels a survey can be about (surveys are answers, not contacts).
TOUCH_CHANNELS: Final = ASSISTED_CHANNELS | {SELF_SERVICE_CHANNEL}
#: Chat authors that are staff or software, not the customer.
STAFF_AUTHORS: Final = frozenset({"agent", "bot", "system"})
#: Kinds that are a customer reaching a person, per assisted channel (store: any non-commerce
#: kind, e.g. a service-desk visit). A chat is its customer's messages; a call is an inbound
#: handled call (missed and abandoned calls reached nobody).
CONTACT_KINDS: Final = {
    "chat": frozenset({"chat_started", "chat_message", "chat_ended"}),
    "email": frozenset({"email_received"}),
    "call_centre": frozenset({"call_completed"}),
}
PURCHASE_KIND: Final = "order_placed"
#: Order lifecycle events: the journey working, never a contact (nor a repeat of one).
COMMERCE_KINDS: Final = frozenset(
    {
        "order_placed",
        "order_fulfilled",
        "order_ready_for_pickup",
        "order_collected",
        "order_cancelled",
        "return",
    }
)
SURVEY_KIND: Final = "survey_response"
#: A web page is help content (self-service) when its path, URL, name or category says so.
HELP_PAGE: Final = re.compile(
    r"(^|[/\s_-])(help|faqs?|support|contact-us|customer-service)($|[/\s_.?#-])", re.I
)
#: `sales_channel` of an order -> the channel the purchase was made in.
SALES_CHANNELS: Final = {"online": "web", "in_store": "store"}

#: The attribute keys the stream reads from `timeline_events.attributes` (kept small for a
#: 10M-row scan); `page` is the web page's path, URL, name and category joined.
ATTRIBUTE_KEYS: Final = (
    "author_role",
    "metric",
    "score",
    "scale_max",
    "nps_category",
    "related_channel",
    "order_id",
    "thread_id",
    "conversation_id",
    "direction",
    "sales_channel",
    "page",
)
#: Reference identifiers that name a matter, and the prefix of each in `JourneyEvent.refs`.
REFERENCE_TYPES: Final = {"order_id": "order", "ticket_id": "ticket", "conversation_id": "thread"}
#: Business references: two contacts naming different ones are about different matters.
BUSINESS_PREFIXES: Final = ("order:", "ticket:")


@dataclass(frozen=True, slots=True)
class JourneyEvent:
    """One timeline event of one canonical customer, reduced to what journeys need; `refs`
    are the matters it names (`order:W-1`, `ticket:T-9`, `thread:<email thread or chat>`)."""

    customer_id: str
    event_id: str
    channel: str
    kind: str
    occurred_at: datetime
    attributes: Mapping[str, Any]
    refs: frozenset[str] = frozenset()

    @property
    def is_contact(self) -> bool:
        """The customer reaching a person on an assisted channel (never a purchase)."""
        if self.channel not in ASSISTED_CHANNELS or self.kind in COMMERCE_KINDS:
            return False
        if self.attributes.get("direction") == "outbound":
            return False
        if self.attributes.get("author_role") in STAFF_AUTHORS:
            return False
        if self.kind == "chat_ended" and self.attributes.get("direction") != "inbound":
            return False  # a widget's end marker; a Connect chat contact says "inbound"
        kinds = CONTACT_KINDS.get(self.channel)
        return kinds is None or self.kind in kinds

    @property
    def is_visit(self) -> bool:
        """Part of a web visit (pages, events, logins): self-service, not a contact."""
        return self.channel == SELF_SERVICE_CHANNEL and self.kind not in COMMERCE_KINDS

    @property
    def is_help(self) -> bool:
        """A view of help content (an FAQ or support page)."""
        page = self.attributes.get("page")
        return self.is_visit and isinstance(page, str) and HELP_PAGE.search(page) is not None

    @property
    def is_purchase(self) -> bool:
        """An order placed, in any channel."""
        return self.kind == PURCHASE_KIND

    @property
    def purchase_channel(self) -> str:
        """The channel the purchase was made in: an online order is a web purchase, whichever
        system reported it; a till receipt or POS order a store one."""
        sold = self.attributes.get("sales_channel")
        return SALES_CHANNELS.get(sold, self.channel) if isinstance(sold, str) else self.channel

    @property
    def matter_refs(self) -> frozenset[str]:
        """The matters a contact names: references, plus its email thread or chat."""
        out = set(self.refs)
        for key in ("thread_id", "conversation_id"):
            value = self.attributes.get(key)
            if isinstance(value, str) and value:
                out.add(f"thread:{value}")
        return frozenset(out)


def is_business(ref: str) -> bool:
    """True for an order or ticket reference (not a thread)."""
    return ref.startswith(BUSINESS_PREFIXES)


def refs_of(attributes: Mapping[str, Any], identifiers: object) -> frozenset[str]:
    """Matter references of an event: `attributes.order_id` and reference identifiers."""
    refs: set[str] = set()
    value = attributes.get("order_id")
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
        refs.add(f"order:{str(value).strip()}")
    if isinstance(identifiers, list):
        for ident in identifiers:
            if not isinstance(ident, dict) or not ident.get("value"):
                continue
            prefix = REFERENCE_TYPES.get(str(ident.get("type")))
            if prefix is not None:
                refs.add(f"{prefix}:{ident['value']}")
    return frozenset(refs)


def journey_event_of(
    customer_id: str,
    event_id: str,
    channel: str,
    kind: str,
    occurred_at: datetime,
    attributes: Mapping[str, Any],
    identifiers: object,
) -> JourneyEvent:
    """A stored event's `JourneyEvent`, read as `stream` reads it in SQL (for pure callers)."""
    attrs: dict[str, Any] = {}
    for key in ATTRIBUTE_KEYS:
        value = attributes.get(key)
        if key == "page":
            parts = (attributes.get(k) for k in ("path", "url", "name", "category"))
            joined = " ".join(str(p) for p in parts if p is not None)
            value = joined if channel == SELF_SERVICE_CHANNEL else None
        elif key in ("score", "scale_max") and value is not None and not isinstance(value, bool):
            value = float(value) if isinstance(value, int | float) else None
        elif value is not None and not isinstance(value, str):
            value = str(value)
        if value is not None and value != "":
            attrs[key] = value
    return JourneyEvent(
        customer_id, event_id, channel, kind, occurred_at, attrs, refs_of(attrs, identifiers)
    )
