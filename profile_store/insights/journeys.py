"""Pure journey metrics: contacts, repeats, first-contact resolution, paths, surveys, purchase.

`contributions` turns one customer's ordered timeline into additive per-day, per-channel
measures (counts and sums); `summarise` turns summed measures into the rates shown to people.
Because every stored figure is a sum, any date range or channel set re-aggregates exactly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Final

from profile_store.insights.events import PURCHASE_KIND, SURVEY_KIND, TOUCH_CHANNELS, JourneyEvent

#: Events of one channel this close together are one contact (a chat's messages, a web visit).
SESSION_GAP: Final = timedelta(minutes=30)
#: Another assisted contact within this window makes a repeat (and breaks first-contact
#: resolution); consecutive assisted contacts this close belong to one episode.
REPEAT_WINDOW: Final = timedelta(days=7)
#: A web visit this long before an episode's first assisted contact starts its path.
PATH_LOOKBACK: Final = timedelta(hours=24)
PATH_SEPARATOR: Final = " -> "
NO_CHANNEL: Final = "none"

#: Every measure stored per (day, channel[, detail]); all are additive.
MEASURES: Final = (
    "contacts",
    "assisted_contacts",
    "repeat_contacts",
    "fcr_eligible",
    "fcr_resolved",
    "fcr_unresolved",
    "episodes",
    "switched_episodes",
    "path_episodes",
    "nps_responses",
    "nps_promoters",
    "nps_detractors",
    "nps_last_responses",
    "nps_last_promoters",
    "nps_last_detractors",
    "csat_responses",
    "csat_satisfied",
    "csat_last_responses",
    "csat_last_satisfied",
    "first_purchases",
    "hours_to_purchase",
)
#: Measures whose value is not a count of customers' items (no customer list behind them).
SUM_MEASURES: Final = frozenset({"hours_to_purchase"})

Key = tuple[date, str, str, str]  # day, channel, measure, detail


@dataclass(slots=True)
class Contact:
    """Consecutive touches on one channel with gaps of at most `SESSION_GAP`."""

    channel: str
    start: datetime
    end: datetime
    assisted: bool
    event_ids: list[str] = field(default_factory=list)
    order_refs: set[str] = field(default_factory=set)


def contacts_of(events: Sequence[JourneyEvent]) -> list[Contact]:
    """The customer's contacts, in time order (`events` must be ordered by time)."""
    out: list[Contact] = []
    last_by_channel: dict[str, Contact] = {}
    for ev in events:
        if not ev.is_touch:
            continue
        current = last_by_channel.get(ev.channel)
        if (
            current is not None
            and out[-1] is current
            and ev.occurred_at - current.end <= SESSION_GAP
        ):
            current.end = ev.occurred_at
            current.event_ids.append(ev.event_id)
            current.order_refs |= ev.contact_refs
            continue
        contact = Contact(
            ev.channel,
            ev.occurred_at,
            ev.occurred_at,
            ev.is_assisted,
            [ev.event_id],
            set(ev.contact_refs),
        )
        out.append(contact)
        last_by_channel[ev.channel] = contact
    return out


class _Sink:
    """Accumulates one customer's contributions."""

    def __init__(self) -> None:
        self.values: dict[Key, float] = defaultdict(float)

    def add(
        self, at: datetime, channel: str, measure: str, value: float = 1.0, detail: str = ""
    ) -> None:
        self.values[(at.date(), channel, measure, detail)] += value


def _contact_measures(sink: _Sink, contacts: Sequence[Contact], as_of: datetime) -> None:
    assisted = [c for c in contacts if c.assisted]
    for c in contacts:
        sink.add(c.start, c.channel, "contacts")
    for i, c in enumerate(assisted):
        sink.add(c.start, c.channel, "assisted_contacts")
        if i > 0 and c.start - assisted[i - 1].start <= REPEAT_WINDOW:
            sink.add(c.start, c.channel, "repeat_contacts")
        if c.start + REPEAT_WINDOW <= as_of:
            sink.add(c.start, c.channel, "fcr_eligible")
            followed = i + 1 < len(assisted) and assisted[i + 1].start - c.start <= REPEAT_WINDOW
            sink.add(c.start, c.channel, "fcr_unresolved" if followed else "fcr_resolved")


def episodes_of(contacts: Sequence[Contact]) -> list[list[Contact]]:
    """Chains of assisted contacts, each within `REPEAT_WINDOW` of the previous one, with the
    web visit just before the first one (within `PATH_LOOKBACK`) when there is one."""
    episodes: list[list[Contact]] = []
    last_web: Contact | None = None
    for c in contacts:
        if not c.assisted:
            last_web = c
            continue
        if episodes and c.start - episodes[-1][-1].start <= REPEAT_WINDOW:
            episodes[-1].append(c)
            continue
        prefix = [last_web] if last_web and c.start - last_web.end <= PATH_LOOKBACK else []
        episodes.append([*prefix, c])
    return episodes


def path_of(episode: Sequence[Contact]) -> list[str]:
    """The channels of an episode in order, repeats of the same channel collapsed."""
    path: list[str] = []
    for c in episode:
        if not path or path[-1] != c.channel:
            path.append(c.channel)
    return path


def _episode_measures(sink: _Sink, contacts: Sequence[Contact], as_of: datetime) -> None:
    for episode in episodes_of(contacts):
        if episode[-1].start + REPEAT_WINDOW > as_of:
            continue  # not resolved yet: the customer may still come back
        first = next(c for c in episode if c.assisted)
        path = path_of(episode)
        sink.add(first.start, first.channel, "episodes")
        if len(path) > 1:
            sink.add(first.start, first.channel, "switched_episodes")
        sink.add(first.start, first.channel, "path_episodes", detail=PATH_SEPARATOR.join(path))


def _score(ev: JourneyEvent) -> tuple[str, float, float] | None:
    metric, score = ev.attributes.get("metric"), ev.attributes.get("score")
    if metric not in ("nps", "csat") or not isinstance(score, int | float):
        return None
    scale = ev.attributes.get("scale_max")
    high = float(scale) if isinstance(scale, int | float) and scale > 0 else 10.0
    return str(metric), float(score), high


def _survey_measures(
    sink: _Sink, events: Sequence[JourneyEvent], contacts: Sequence[Contact]
) -> None:
    i, last_channel = 0, NO_CHANNEL
    for ev in events:
        while i < len(contacts) and contacts[i].start <= ev.occurred_at:
            last_channel = contacts[i].channel
            i += 1
        if ev.kind != SURVEY_KIND or (scored := _score(ev)) is None:
            continue
        metric, score, high = scored
        related = ev.attributes.get("related_channel")
        about = related if isinstance(related, str) and related in TOUCH_CHANNELS else last_channel
        at = ev.occurred_at
        if metric == "nps":
            category = ev.attributes.get("nps_category") or (
                "promoter" if score >= 9 else "detractor" if score <= 6 else "passive"
            )
            for prefix, channel in (("nps", about), ("nps_last", last_channel)):
                sink.add(at, channel, f"{prefix}_responses")
                if category in ("promoter", "detractor"):
                    sink.add(at, channel, f"{prefix}_{category}s")
        else:
            satisfied = score >= 0.8 * high  # 4-5 of 5: the usual "top two boxes"
            for prefix, channel in (("csat", about), ("csat_last", last_channel)):
                sink.add(at, channel, f"{prefix}_responses")
                if satisfied:
                    sink.add(at, channel, f"{prefix}_satisfied")


def _purchase_measures(
    sink: _Sink, events: Sequence[JourneyEvent], contacts: Sequence[Contact]
) -> None:
    if not contacts:
        return
    first = contacts[0]
    purchase = next((e for e in events if e.kind == PURCHASE_KIND), None)
    if purchase is None or purchase.occurred_at < first.start:
        return
    hours = (purchase.occurred_at - first.start).total_seconds() / 3600
    sink.add(purchase.occurred_at, first.channel, "first_purchases")
    sink.add(purchase.occurred_at, first.channel, "hours_to_purchase", hours)


def contributions(events: Sequence[JourneyEvent], as_of: datetime) -> dict[Key, float]:
    """One customer's additive measures, from their events in time order, as known at `as_of`
    (first-contact resolution and paths count only contacts whose 7-day window has closed)."""
    contacts = contacts_of(events)
    sink = _Sink()
    _contact_measures(sink, contacts, as_of)
    _episode_measures(sink, contacts, as_of)
    _survey_measures(sink, events, contacts)
    _purchase_measures(sink, events, contacts)
    return dict(sink.values)


def _ratio(num: float, den: float, scale: float = 100.0) -> float | None:
    return None if den == 0 else round(scale * num / den, 2)


def summarise(totals: Mapping[str, float]) -> dict[str, float | None]:
    """Rates from summed measures (None where there is nothing to divide by)."""
    t = defaultdict(float, totals)
    return {
        "contacts": t["contacts"],
        "assisted_contacts": t["assisted_contacts"],
        "repeat_contact_rate": _ratio(t["repeat_contacts"], t["assisted_contacts"]),
        "fcr_rate": _ratio(t["fcr_resolved"], t["fcr_eligible"]),
        "channel_switch_rate": _ratio(t["switched_episodes"], t["episodes"]),
        "nps": _ratio(t["nps_promoters"] - t["nps_detractors"], t["nps_responses"]),
        "nps_by_last_channel": _ratio(
            t["nps_last_promoters"] - t["nps_last_detractors"], t["nps_last_responses"]
        ),
        "csat": _ratio(t["csat_satisfied"], t["csat_responses"]),
        "csat_by_last_channel": _ratio(t["csat_last_satisfied"], t["csat_last_responses"]),
        "avg_hours_to_first_purchase": _ratio(t["hours_to_purchase"], t["first_purchases"], 1.0),
    }


def total(values: Iterable[tuple[str, float]]) -> dict[str, float]:
    """Sum (measure, value) pairs per measure."""
    out: dict[str, float] = defaultdict(float)
    for measure, value in values:
        out[measure] += value
    return dict(out)
