"""Pure journey metrics: contacts, repeats, first-contact resolution, channel switching,
failed self-service, effort, surveys against the journey, time to purchase.

`contributions` turns one customer's ordered timeline into additive per-day, per-channel
measures (counts and sums); `explain` gives the events behind each of them; `summarise`
turns summed measures into the rates shown to people. Because every stored figure is a sum,
any date range or channel set re-aggregates exactly. The definitions are in `matters` and
the README ("CX insight").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Final

from profile_store.insights import surveys
from profile_store.insights.events import JourneyEvent
from profile_store.insights.matters import (
    PATH_SEPARATOR,
    REPEAT_WINDOW,
    SELF_SERVICE_WINDOW,
    Journey,
    journey_of,
)

#: Every measure stored per (day, channel[, detail]); all are additive.
MEASURES: Final = (
    "contacts",
    "first_contacts",
    "repeat_contacts",
    "fcr_eligible",
    "fcr_resolved",
    "fcr_unresolved",
    "visits",
    "help_visits",
    "failed_self_service",
    "matters",
    "switched_matters",
    "path_matters",
    "matter_contacts",
    *surveys.MEASURES,
    "first_purchases",
    "hours_to_purchase",
)
#: Measures whose value is not a count of customers' items (no customer list behind them).
SUM_MEASURES: Final = frozenset({"hours_to_purchase", "matter_contacts"})
#: Measures whose `detail` is a breakdown of another figure (not summed into the totals).
PATH_MEASURE: Final = "path_matters"

Key = tuple[date, str, str, str]  # day, channel, measure, detail


class _Sink:
    """Accumulates one customer's contributions, and the events behind each if asked."""

    def __init__(self, evidence: bool) -> None:
        self.values: dict[Key, float] = defaultdict(float)
        self.events: dict[Key, list[str]] | None = defaultdict(list) if evidence else None

    def add(
        self,
        at: datetime,
        channel: str,
        measure: str,
        value: float = 1.0,
        detail: str = "",
        events: Iterable[str] = (),
    ) -> None:
        key = (at.date(), channel, measure, detail)
        self.values[key] += value
        if self.events is not None:
            seen = self.events[key]
            seen.extend(e for e in events if e not in seen)


def _contact_measures(sink: _Sink, j: Journey, as_of: datetime) -> None:
    """Contacts; repeats (a contact continuing a matter); first-contact resolution of each
    matter's first contact, once `REPEAT_WINDOW` has passed after it."""
    for i, c in enumerate(j.contacts):
        matter = j.matter_of[i]
        mine = [c.event_ids[0]]
        sink.add(c.start, c.channel, "contacts", events=mine)
        position = matter.contacts.index(c)
        if position > 0:
            earlier = matter.contacts[position - 1].event_ids[0]
            sink.add(c.start, c.channel, "repeat_contacts", events=[earlier, *mine])
            continue
        sink.add(c.start, c.channel, "first_contacts", events=mine)
        if c.end + REPEAT_WINDOW > as_of:
            continue  # the customer may still come back about it
        sink.add(c.start, c.channel, "fcr_eligible", events=mine)
        if len(matter.contacts) == 1:
            sink.add(c.start, c.channel, "fcr_resolved", events=mine)
        else:
            again = matter.contacts[1].event_ids[0]
            sink.add(c.start, c.channel, "fcr_unresolved", events=[*mine, again])


def _visit_measures(sink: _Sink, j: Journey, as_of: datetime) -> None:
    """Web visits; help visits and those followed by a contact (failed self-service), counted
    once they failed or `SELF_SERVICE_WINDOW` has passed."""
    starts = [c.start for c in j.contacts]
    for v in j.visits:
        sink.add(v.start, v.channel, "visits", events=v.event_ids[:1])
        if v.help_event is None:
            continue
        after = next(
            (
                j.contacts[k]
                for k, s in enumerate(starts)
                if s >= v.start and s - v.end <= SELF_SERVICE_WINDOW
            ),
            None,
        )
        if after is None and v.end + SELF_SERVICE_WINDOW > as_of:
            continue
        sink.add(v.start, v.channel, "help_visits", events=[v.help_event])
        if after is not None:
            proof = [v.help_event, after.event_ids[0]]
            sink.add(v.start, v.channel, "failed_self_service", detail=after.channel, events=proof)


def _matter_measures(sink: _Sink, j: Journey, as_of: datetime) -> None:
    """Matters over (no contact for `REPEAT_WINDOW`), keyed by their first contact: switched
    or not, their channel path, and how many contacts they took (effort)."""
    for m in j.matters:
        if m.closes_at() > as_of:
            continue
        first = m.contacts[0]
        help_event = m.self_service.help_event if m.self_service else None
        proof = [help_event] if help_event else []
        proof += [c.event_ids[0] for c in m.contacts]
        sink.add(first.start, first.channel, "matters", events=proof)
        sink.add(first.start, first.channel, "matter_contacts", len(m.contacts), events=proof)
        switch = m.switch()
        if switch is not None:
            sink.add(first.start, first.channel, "switched_matters", detail=switch, events=proof)
        path = PATH_SEPARATOR.join(m.path())
        sink.add(first.start, first.channel, "path_matters", detail=path, events=proof)


def _purchase_measures(sink: _Sink, events: Sequence[JourneyEvent], j: Journey) -> None:
    """Hours from the first touch (a visit or a contact) to the first order, keyed by the
    channel the order was placed in; an order with no touch before it is not counted."""
    purchase = next((e for e in events if e.is_purchase), None)
    touches = [*j.contacts[:1], *j.visits[:1]]
    if purchase is None or not touches:
        return
    first = min(touches, key=lambda s: s.start)
    if first.start >= purchase.occurred_at:
        return
    hours = (purchase.occurred_at - first.start).total_seconds() / 3600
    channel = purchase.purchase_channel
    proof = [first.event_ids[0], purchase.event_id]
    sink.add(purchase.occurred_at, channel, "first_purchases", events=proof)
    sink.add(purchase.occurred_at, channel, "hours_to_purchase", hours, events=proof)


def _measure(events: Sequence[JourneyEvent], as_of: datetime, evidence: bool) -> _Sink:
    j = journey_of(events)
    sink = _Sink(evidence)
    _contact_measures(sink, j, as_of)
    _visit_measures(sink, j, as_of)
    _matter_measures(sink, j, as_of)
    for at, channel, measure, detail, proof in surveys.survey_measures(events, j):
        sink.add(at, channel, measure, detail=detail, events=proof)
    _purchase_measures(sink, events, j)
    return sink


def contributions(events: Sequence[JourneyEvent], as_of: datetime) -> dict[Key, float]:
    """One customer's additive measures, from their events in time order, as known at `as_of`
    (resolution and matters count once their windows have closed)."""
    return dict(_measure(events, as_of, evidence=False).values)


def explain(events: Sequence[JourneyEvent], as_of: datetime) -> dict[Key, tuple[float, list[str]]]:
    """Each of `contributions`' keys: its value and the events behind it (the contact, the
    one it repeats...)."""
    sink = _measure(events, as_of, evidence=True)
    assert sink.events is not None
    return {key: (value, sink.events[key]) for key, value in sink.values.items()}


def _ratio(num: float, den: float, scale: float = 100.0) -> float | None:
    return None if den == 0 else round(scale * num / den, 2)


def summarise(totals: Mapping[str, float]) -> dict[str, float | None]:
    """Rates from summed measures (None where there is nothing to divide by)."""
    t = defaultdict(float, totals)
    return {
        "contacts": t["contacts"],
        "visits": t["visits"],
        "matters": t["matters"],
        "first_purchases": t["first_purchases"],
        "repeat_contact_rate": _ratio(t["repeat_contacts"], t["contacts"]),
        "fcr_rate": _ratio(t["fcr_resolved"], t["fcr_eligible"]),
        "channel_switch_rate": _ratio(t["switched_matters"], t["matters"]),
        "failed_self_service_rate": _ratio(t["failed_self_service"], t["help_visits"]),
        "contacts_per_matter": _ratio(t["matter_contacts"], t["matters"], 1.0),
        **surveys.summarise(t),
        "avg_hours_to_first_purchase": _ratio(t["hours_to_purchase"], t["first_purchases"], 1.0),
    }


def total(values: Iterable[tuple[str, float]]) -> dict[str, float]:
    """Sum (measure, value) pairs per measure."""
    out: dict[str, float] = defaultdict(float)
    for measure, value in values:
        out[measure] += value
    return dict(out)
