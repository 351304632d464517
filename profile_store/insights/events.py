"""The slice of a timeline event the journey metrics and rules read (no PII)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

#: Channels where a person serves the customer: their contacts are "assisted".
ASSISTED_CHANNELS: Final = frozenset({"chat", "email", "call_centre", "store"})
#: Channels that count as a touch of the journey (surveys are answers, not contacts).
TOUCH_CHANNELS: Final = ASSISTED_CHANNELS | {"web"}
#: Kinds that are the company speaking, never a customer's contact.
OUTBOUND_KINDS: Final = frozenset({"email_sent"})
#: Chat authors that are staff or software, not the customer.
STAFF_AUTHORS: Final = frozenset({"agent", "bot", "system"})
PURCHASE_KIND: Final = "order_placed"
#: Order lifecycle events: they carry the order's id but are not contacts *about* the order.
COMMERCE_KINDS: Final = frozenset(
    {"order_placed", "order_fulfilled", "order_collected", "order_cancelled", "return"}
)
SURVEY_KIND: Final = "survey_response"

#: The attribute keys read from `timeline_events.attributes` (kept small for a 10M-row scan).
ATTRIBUTE_KEYS: Final = (
    "author_role",
    "metric",
    "score",
    "scale_max",
    "nps_category",
    "related_channel",
    "order_id",
)


@dataclass(frozen=True, slots=True)
class JourneyEvent:
    """One timeline event of one canonical customer, reduced to what journeys need."""

    customer_id: str
    event_id: str
    channel: str
    kind: str
    occurred_at: datetime
    attributes: Mapping[str, Any]
    order_refs: frozenset[str] = frozenset()

    @property
    def is_touch(self) -> bool:
        """An inbound interaction on a touch channel (a customer reaching out or browsing)."""
        if self.channel not in TOUCH_CHANNELS or self.kind in OUTBOUND_KINDS:
            return False
        return not (
            self.kind == "chat_message" and self.attributes.get("author_role") in STAFF_AUTHORS
        )

    @property
    def contact_refs(self) -> frozenset[str]:
        """The orders this event is a contact about (none for the order's own lifecycle)."""
        return frozenset() if self.kind in COMMERCE_KINDS else self.order_refs

    @property
    def is_assisted(self) -> bool:
        """A touch on an assisted channel."""
        return self.is_touch and self.channel in ASSISTED_CHANNELS


def order_refs_of(attributes: Mapping[str, Any], identifiers: object) -> frozenset[str]:
    """Order references of an event: `attributes.order_id` and `order_id` identifiers."""
    refs: set[str] = set()
    value = attributes.get("order_id")
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
        refs.add(str(value).strip())
    if isinstance(identifiers, list):
        for ident in identifiers:
            if isinstance(ident, dict) and ident.get("type") == "order_id" and ident.get("value"):
                refs.add(str(ident["value"]))
    return frozenset(refs)
