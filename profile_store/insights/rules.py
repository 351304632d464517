"""Moments-of-truth rules (pure): which customers are about to be lost, and on which event.

Each signal is anchored on one event, so (rule, customer, anchor event) identifies it and a
re-evaluation of the same timeline never produces a new one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from profile_store.insights.events import SURVEY_KIND, JourneyEvent
from profile_store.insights.journeys import contacts_of

DETRACTOR_RECONTACT: Final = "detractor_recontact"
ORDER_CONTACTS: Final = "order_contacts"
UNANSWERED_EMAIL: Final = "unanswered_email"


class DetractorRule(BaseModel):
    """A detractor (NPS 0-6, or CSAT in the bottom share) followed by another contact."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    enabled: bool = True
    within_hours: float = Field(default=48, gt=0, le=24 * 90)
    #: CSAT at or below this share of the scale counts as a detractor (2 of 5 = 0.4).
    csat_max_share: float = Field(default=0.4, ge=0, le=1)


class OrderContactsRule(BaseModel):
    """The n-th contact about the same order (order_id attribute or reference identifier)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    enabled: bool = True
    count: int = Field(default=3, ge=2, le=100)


class UnansweredEmailRule(BaseModel):
    """An inbound email with no later email to the customer after some hours."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    enabled: bool = True
    after_hours: float = Field(default=24, gt=0, le=24 * 90)


class RuleConfig(BaseModel):
    """Every rule's settings (JSON in `THREADLINE_SIGNAL_RULES`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    detractor_recontact: DetractorRule = DetractorRule()
    order_contacts: OrderContactsRule = OrderContactsRule()
    unanswered_email: UnansweredEmailRule = UnansweredEmailRule()


@dataclass(frozen=True, slots=True)
class Signal:
    """A rule matched a customer: anchored on one event, raised at `at`."""

    rule: str
    customer_id: str
    anchor_event_id: str
    at: datetime
    detail: str


def _is_detractor(ev: JourneyEvent, rule: DetractorRule) -> bool:
    if ev.kind != SURVEY_KIND:
        return False
    attrs = ev.attributes
    if attrs.get("metric") == "nps":
        score = attrs.get("score")
        category = attrs.get("nps_category")
        return category == "detractor" or (
            category is None and isinstance(score, int | float) and score <= 6
        )
    if attrs.get("metric") == "csat":
        score, high = attrs.get("score"), attrs.get("scale_max") or 5
        if isinstance(score, int | float) and isinstance(high, int | float) and high > 0:
            return score <= rule.csat_max_share * high
    return False


def detractor_recontact(events: Sequence[JourneyEvent], rule: DetractorRule) -> list[Signal]:
    """Each detractor answer followed by a contact within `within_hours`."""
    window = timedelta(hours=rule.within_hours)
    contacts = contacts_of(events)
    out = []
    for ev in events:
        if not _is_detractor(ev, rule):
            continue
        nxt = next((c for c in contacts if c.start > ev.occurred_at), None)
        if nxt is not None and nxt.start - ev.occurred_at <= window:
            detail = f"{nxt.channel} contact {nxt.start - ev.occurred_at} after a detractor score"
            out.append(Signal(DETRACTOR_RECONTACT, ev.customer_id, ev.event_id, nxt.start, detail))
    return out


def order_contacts(events: Sequence[JourneyEvent], rule: OrderContactsRule) -> list[Signal]:
    """The `count`-th assisted contact about the same order (once per order)."""
    seen: dict[str, int] = defaultdict(int)
    out = []
    for c in contacts_of(events):
        if not c.assisted:
            continue
        for ref in sorted(c.order_refs):
            seen[ref] += 1
            if seen[ref] == rule.count:
                detail = f"contact {rule.count} about one order ({c.channel})"
                out.append(
                    Signal(ORDER_CONTACTS, events[0].customer_id, c.event_ids[0], c.start, detail)
                )
    return out


def unanswered_email(
    events: Sequence[JourneyEvent], rule: UnansweredEmailRule, as_of: datetime
) -> list[Signal]:
    """The first inbound email since the last reply, if no reply came within `after_hours`."""
    window = timedelta(hours=rule.after_hours)
    waiting: JourneyEvent | None = None
    out = []
    for ev in events:
        if ev.kind == "email_sent":
            if waiting is not None and ev.occurred_at - waiting.occurred_at > window:
                out.append(_unanswered(waiting, window))
            waiting = None
        elif ev.kind == "email_received" and waiting is None:
            waiting = ev
    if waiting is not None and as_of - waiting.occurred_at > window:
        out.append(_unanswered(waiting, window))
    return out


def _unanswered(ev: JourneyEvent, window: timedelta) -> Signal:
    hours = window.total_seconds() / 3600
    detail = f"inbound email unanswered for more than {hours:g} h"
    return Signal(UNANSWERED_EMAIL, ev.customer_id, ev.event_id, ev.occurred_at + window, detail)


def evaluate(events: Sequence[JourneyEvent], config: RuleConfig, as_of: datetime) -> list[Signal]:
    """Every enabled rule on one customer's events in time order, as known at `as_of`."""
    out: list[Signal] = []
    if config.detractor_recontact.enabled:
        out += detractor_recontact(events, config.detractor_recontact)
    if config.order_contacts.enabled:
        out += order_contacts(events, config.order_contacts)
    if config.unanswered_email.enabled:
        out += unanswered_email(events, config.unanswered_email, as_of)
    return [s for s in out if s.at <= as_of]
