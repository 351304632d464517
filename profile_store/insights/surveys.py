"""Survey answers against the journey (pure): NPS, CSAT and CES by the channel they are about
and by what the customer went through on the matter they answered about.

- **NPS** (0-10): promoters 9-10 minus detractors 0-6, in % of answers (Bain).
- **CSAT**: share of answers in the top two boxes (4-5 of 5, 80 % of any scale).
- **CES** (CES 2.0, 1-7 "the company made it easy to handle my issue"): share agreeing, 5-7
  (five sevenths of any scale).
- The *journey* of an answer is the matter it is about (`matters.matter_at`: the one naming
  its related order or conversation, else the latest contacted within the repeat window) as
  it stood when the customer answered: `one_contact`; `after_self_service` (one contact,
  after the help pages failed them); `repeated` (more than one contact, one assisted
  channel); `switched` (more than one assisted channel); or `no_contact`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Final

from profile_store.insights.events import SURVEY_KIND, TOUCH_CHANNELS, JourneyEvent
from profile_store.insights.matters import Journey, matter_at

NO_CHANNEL: Final = "none"
JOURNEYS: Final = ("one_contact", "after_self_service", "repeated", "switched", "no_contact")
MEASURES: Final = (
    "nps_responses",
    "nps_promoters",
    "nps_detractors",
    "csat_responses",
    "csat_satisfied",
    "csat_unsatisfied",
    "ces_responses",
    "ces_easy",
    "ces_not_easy",
)
#: The share of the scale at or above which a CSAT answer is satisfied, a CES one easy.
CSAT_TOP: Final = 0.8
CES_AGREE: Final = 5 / 7
#: Default top of each scale when the answer does not say.
SCALE_MAX: Final = {"nps": 10.0, "csat": 5.0, "ces": 7.0}

Measure = tuple[datetime, str, str, str, list[str]]  # at, channel, measure, detail, events


def score_of(ev: JourneyEvent) -> tuple[str, float, float] | None:
    """(metric, score, top of the scale) of a survey answer, or None."""
    if ev.kind != SURVEY_KIND:
        return None
    metric, score = ev.attributes.get("metric"), ev.attributes.get("score")
    if metric not in SCALE_MAX or not isinstance(score, int | float):
        return None
    scale = ev.attributes.get("scale_max")
    high = float(scale) if isinstance(scale, int | float) and scale > 0 else SCALE_MAX[metric]
    return str(metric), float(score), high


def nps_category(ev: JourneyEvent, score: float) -> str:
    """promoter, passive or detractor (the answer's own category when it carries one)."""
    category = ev.attributes.get("nps_category")
    if category in ("promoter", "passive", "detractor"):
        return str(category)
    return "promoter" if score >= 9 else "detractor" if score <= 6 else "passive"


def _answer_measures(metric: str, score: float, high: float, ev: JourneyEvent) -> list[str]:
    if metric == "nps":
        category = nps_category(ev, score)
        extra = {"promoter": ["nps_promoters"], "detractor": ["nps_detractors"]}
        return ["nps_responses", *extra.get(category, [])]
    if metric == "csat":
        good = score >= CSAT_TOP * high
        return ["csat_responses", "csat_satisfied" if good else "csat_unsatisfied"]
    easy = score >= CES_AGREE * high
    return ["ces_responses", "ces_easy" if easy else "ces_not_easy"]


def _last_touch(j: Journey, at: datetime, events: Sequence[JourneyEvent]) -> str:
    """The channel of the customer's last contact, visit or purchase before `at`."""
    best: tuple[datetime, str] | None = None
    for s in (*j.contacts, *j.visits):
        if s.start <= at and (best is None or s.start >= best[0]):
            best = (s.start, s.channel)
    for e in events:
        if e.is_purchase and e.occurred_at <= at and (best is None or e.occurred_at >= best[0]):
            best = (e.occurred_at, e.purchase_channel)
    return best[1] if best else NO_CHANNEL


def survey_measures(events: Sequence[JourneyEvent], j: Journey) -> Iterator[Measure]:
    """Each scored answer: its measures keyed by the channel it is about, with its journey as
    the detail, and the events behind it (the answer, then the matter's contacts)."""
    for ev in events:
        scored = score_of(ev)
        if scored is None:
            continue
        metric, score, high = scored
        at = ev.occurred_at
        matter = matter_at(j, ev.matter_refs, at)
        contacts = matter.until(at) if matter is not None else []
        if matter is None:
            journey = "no_contact"
        elif matter.assisted_switch(at):
            journey = "switched"
        elif len(contacts) > 1:
            journey = "repeated"
        else:
            journey = "after_self_service" if matter.self_service else "one_contact"
        related = ev.attributes.get("related_channel")
        if isinstance(related, str) and related in TOUCH_CHANNELS:
            about = related
        elif contacts:
            about = contacts[-1].channel
        else:
            about = _last_touch(j, at, events)
        proof = [ev.event_id, *(c.event_ids[0] for c in contacts)]
        for measure in _answer_measures(metric, score, high, ev):
            yield at, about, measure, journey, proof


def _ratio(num: float, den: float) -> float | None:
    return None if den == 0 else round(100 * num / den, 2)


def summarise(t: Mapping[str, float]) -> dict[str, float | None]:
    """NPS (-100..100), CSAT and CES (% satisfied / easy) from summed measures."""
    return {
        "nps": _ratio(
            t.get("nps_promoters", 0) - t.get("nps_detractors", 0), t.get("nps_responses", 0)
        ),
        "nps_responses": t.get("nps_responses", 0),
        "csat": _ratio(t.get("csat_satisfied", 0), t.get("csat_responses", 0)),
        "ces": _ratio(t.get("ces_easy", 0), t.get("ces_responses", 0)),
    }
