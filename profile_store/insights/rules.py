"""Moments-of-truth rules (pure): the moments an agent must know about while the customer is
still there, each anchored on one event.

- `unanswered_email`: the customer calls (or chats, or walks in) while an email they sent is
  still unanswered; optionally also an email with no reply after `after_hours`.
- `order_contacts`: the `count`-th contact (default the second) about a matter that names an
  order: the customer chasing it.
- `detractor_open_matter`: a detractor answer (NPS 0-6, CSAT at most `csat_max_share` of the
  scale) while the customer has an open matter (contacted within the repeat window before),
  or followed by a contact within `within_hours`.

(rule, customer, anchor event) identifies a signal, so re-evaluating the same timeline never
produces a new one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from profile_store.insights.events import JourneyEvent
from profile_store.insights.matters import REPEAT_WINDOW, Journey, journey_of, matter_at
from profile_store.insights.surveys import nps_category, score_of

DETRACTOR_OPEN_MATTER: Final = "detractor_open_matter"
ORDER_CONTACTS: Final = "order_contacts"
UNANSWERED_EMAIL: Final = "unanswered_email"
CHANNEL_NAMES: Final = {"call_centre": "call", "chat": "chat", "email": "email", "store": "store"}
#: What the customer did on another channel while waiting for a reply.
CHASES: Final = {"call_centre": "called", "chat": "chatted", "store": "came to the store"}


class DetractorRule(BaseModel):
    """A detractor answer while a matter is open."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    enabled: bool = True
    #: A contact this soon after the answer re-opens the matter.
    within_hours: float = Field(default=48, gt=0, le=24 * 90)
    #: CSAT at or below this share of the scale counts as a detractor (2 of 5 = 0.4).
    csat_max_share: float = Field(default=0.4, ge=0, le=1)


class OrderContactsRule(BaseModel):
    """The n-th contact about a matter that names an order."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    enabled: bool = True
    count: int = Field(default=2, ge=2, le=100)


class UnansweredEmailRule(BaseModel):
    """A contact on another channel while an inbound email awaits its reply."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    enabled: bool = True
    #: Also raise for an email still unanswered after this many hours (off when unset).
    after_hours: float | None = Field(default=None, gt=0, le=24 * 90)


class RuleConfig(BaseModel):
    """Every rule's settings (JSON in `THREADLINE_SIGNAL_RULES`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    unanswered_email: UnansweredEmailRule = UnansweredEmailRule()
    order_contacts: OrderContactsRule = OrderContactsRule()
    detractor_open_matter: DetractorRule = DetractorRule()


@dataclass(frozen=True, slots=True)
class Signal:
    """A rule matched a customer: anchored on one event, raised at `at`."""

    rule: str
    customer_id: str
    anchor_event_id: str
    at: datetime
    detail: str


def _name(channel: str) -> str:
    return CHANNEL_NAMES.get(channel, channel)


def ago(delta: timedelta) -> str:
    """A duration as people say it: `40 min`, `26 h`, `3 days`."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h" if hours < 72 else f"{hours // 24} days"


def unanswered_email(
    events: Sequence[JourneyEvent], rule: UnansweredEmailRule, as_of: datetime
) -> list[Signal]:
    """The first contact on another channel while an inbound email awaits a reply (and, with
    `after_hours`, an email with no reply in that time)."""
    window = timedelta(hours=rule.after_hours) if rule.after_hours is not None else None
    waiting: JourneyEvent | None = None
    chased = False
    out = []
    for ev in events:
        if ev.kind == "email_sent":
            if waiting is not None and window and ev.occurred_at - waiting.occurred_at > window:
                out.append(_late_reply(waiting, window))
            waiting = None
        elif ev.kind == "email_received" and ev.is_contact and waiting is None:
            waiting, chased = ev, False
        elif waiting is not None and not chased and ev.is_contact and ev.channel != "email":
            chased = True
            did = CHASES.get(ev.channel, "got in touch")
            detail = (
                f"{did} {ago(ev.occurred_at - waiting.occurred_at)} after emailing; no reply yet"
            )
            out.append(
                Signal(UNANSWERED_EMAIL, ev.customer_id, ev.event_id, ev.occurred_at, detail)
            )
    if waiting is not None and window and as_of - waiting.occurred_at > window:
        out.append(_late_reply(waiting, window))
    return out


def _late_reply(ev: JourneyEvent, window: timedelta) -> Signal:
    detail = f"email unanswered for more than {ago(window)}"
    return Signal(UNANSWERED_EMAIL, ev.customer_id, ev.event_id, ev.occurred_at + window, detail)


def order_contacts(j: Journey, customer_id: str, rule: OrderContactsRule) -> list[Signal]:
    """The `count`-th contact of each matter that names an order."""
    out = []
    for m in j.matters:
        orders = sorted(r.removeprefix("order:") for r in m.refs if r.startswith("order:"))
        if not orders or len(m.contacts) < rule.count:
            continue
        c = m.contacts[rule.count - 1]
        before = ", ".join(_name(p.channel) for p in m.contacts[: rule.count - 1])
        detail = f"contact {rule.count} about order {orders[0]} ({_name(c.channel)} after {before})"
        out.append(Signal(ORDER_CONTACTS, customer_id, c.event_ids[0], c.start, detail))
    return out


def _detractor_label(ev: JourneyEvent, rule: DetractorRule) -> str | None:
    scored = score_of(ev)
    if scored is None:
        return None
    metric, score, high = scored
    if metric == "nps" and nps_category(ev, score) == "detractor":
        return f"NPS {score:g}"
    if metric == "csat" and score <= rule.csat_max_share * high:
        return f"CSAT {score:g} of {high:g}"
    return None


def detractor_open_matter(
    events: Sequence[JourneyEvent], j: Journey, rule: DetractorRule
) -> list[Signal]:
    """Each detractor answer given while a matter is open, or followed by a contact soon."""
    out = []
    for ev in events:
        label = _detractor_label(ev, rule)
        if label is None:
            continue
        at = ev.occurred_at
        matter = matter_at(j, ev.matter_refs, at)
        contacts = matter.until(at) if matter is not None else []
        if contacts and at - contacts[-1].end <= REPEAT_WINDOW:
            last, n = contacts[-1], len(contacts)
            how = _name(last.channel)
            detail = (
                f"{label} with an open matter ({n} contact{'s' if n > 1 else ''}, "
                f"last a {how} {ago(at - last.end)} before)"
            )
            out.append(Signal(DETRACTOR_OPEN_MATTER, ev.customer_id, ev.event_id, at, detail))
            continue
        nxt = next((c for c in j.contacts if c.start > at), None)
        if nxt is not None and nxt.start - at <= timedelta(hours=rule.within_hours):
            how = _name(nxt.channel)
            detail = f"{label}, then a {how} {ago(nxt.start - at)} later"
            out.append(
                Signal(DETRACTOR_OPEN_MATTER, ev.customer_id, ev.event_id, nxt.start, detail)
            )
    return out


def evaluate(events: Sequence[JourneyEvent], config: RuleConfig, as_of: datetime) -> list[Signal]:
    """Every enabled rule on one customer's events in time order, as known at `as_of`."""
    if not events:
        return []
    j = journey_of(events)
    out: list[Signal] = []
    if config.unanswered_email.enabled:
        out += unanswered_email(events, config.unanswered_email, as_of)
    if config.order_contacts.enabled:
        out += order_contacts(j, events[0].customer_id, config.order_contacts)
    if config.detractor_open_matter.enabled:
        out += detractor_open_matter(events, j, config.detractor_open_matter)
    return [s for s in out if s.at <= as_of]
