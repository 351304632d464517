"""A generated journey set with known answers: six scripted journeys, each repeated for many
customers on random days, so every metric's expected total is a count times a known figure."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from profile_store.insights.events import JourneyEvent, order_refs_of
from schemas import CanonicalEvent, Identifier

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
#: Long after every journey: every 7-day window has closed.
AS_OF = START + timedelta(days=60)
Step = tuple[float, str, str, dict[str, Any]]  # hours from the start, channel, kind, attributes


def nps(score: int, related: str | None = None) -> dict[str, Any]:
    cat = "promoter" if score >= 9 else "detractor" if score <= 6 else "passive"
    return {
        "metric": "nps",
        "score": score,
        "scale_max": 10,
        "nps_category": cat,
        "related_channel": related,
    }


SCRIPTS: dict[str, list[Step]] = {
    # Browses, then one chat of two messages that settles it.
    "one_chat": [
        (-2, "web", "page_viewed", {}),
        (0, "chat", "chat_message", {"author_role": "customer"}),
        (0.1, "chat", "chat_message", {"author_role": "agent"}),
    ],
    # Forced from chat to email to the phone.
    "switcher": [
        (-1, "web", "page_viewed", {}),
        (0, "chat", "chat_started", {}),
        (24, "email", "email_received", {}),
        (25, "email", "email_sent", {}),
        (48, "call_centre", "call_completed", {}),
    ],
    # Calls, scores NPS 3 about the call, calls again within 48 h.
    "detractor": [
        (0, "call_centre", "call_completed", {}),
        (1, "survey", "survey_response", nps(3, "call_centre")),
        (20, "call_centre", "call_completed", {}),
    ],
    # Two web visits, buys online 50 h after the first, CSAT 5/5 with no related channel.
    "buyer": [
        (0, "web", "page_viewed", {}),
        (3, "web", "page_viewed", {}),
        (50, "web", "order_placed", {"order_id": "W-1"}),
        (51, "survey", "survey_response", {"metric": "csat", "score": 5, "scale_max": 5}),
    ],
    # Buys in store, then chases the order by email (answered), phone and chat: 3rd contact.
    "order_chaser": [
        (0, "store", "order_placed", {"order_id": "S-9"}),
        (24, "email", "email_received", {"order_id": "S-9"}),
        (26, "email", "email_sent", {"order_id": "S-9"}),
        (48, "call_centre", "call_completed", {}),  # the order as a reference identifier
        (72, "chat", "chat_started", {"order_id": "S-9"}),
    ],
    # Emails, never gets an answer; NPS 10 about email two hours later.
    "unanswered": [
        (0, "email", "email_received", {}),
        (2, "survey", "survey_response", nps(10, "email")),
    ],
}
#: Steps that carry the order as an `order_id` reference identifier.
REFERENCE_STEPS = {("order_chaser", 3)}

#: Expected measure totals per channel for ONE customer of each script.
EXPECTED: dict[str, dict[tuple[str, str], float]] = {
    "one_chat": {
        ("web", "contacts"): 1,
        ("chat", "contacts"): 1,
        ("chat", "assisted_contacts"): 1,
        ("chat", "fcr_eligible"): 1,
        ("chat", "fcr_resolved"): 1,
        ("chat", "episodes"): 1,
        ("chat", "switched_episodes"): 1,
        ("chat", "path_episodes"): 1,
    },
    "switcher": {
        ("web", "contacts"): 1,
        ("chat", "contacts"): 1,
        ("email", "contacts"): 1,
        ("call_centre", "contacts"): 1,
        ("chat", "assisted_contacts"): 1,
        ("email", "assisted_contacts"): 1,
        ("call_centre", "assisted_contacts"): 1,
        ("email", "repeat_contacts"): 1,
        ("call_centre", "repeat_contacts"): 1,
        ("chat", "fcr_eligible"): 1,
        ("email", "fcr_eligible"): 1,
        ("call_centre", "fcr_eligible"): 1,
        ("chat", "fcr_unresolved"): 1,
        ("email", "fcr_unresolved"): 1,
        ("call_centre", "fcr_resolved"): 1,
        ("chat", "episodes"): 1,
        ("chat", "switched_episodes"): 1,
        ("chat", "path_episodes"): 1,
    },
    "detractor": {
        ("call_centre", "contacts"): 2,
        ("call_centre", "assisted_contacts"): 2,
        ("call_centre", "repeat_contacts"): 1,
        ("call_centre", "fcr_eligible"): 2,
        ("call_centre", "fcr_unresolved"): 1,
        ("call_centre", "fcr_resolved"): 1,
        ("call_centre", "episodes"): 1,
        ("call_centre", "path_episodes"): 1,
        ("call_centre", "nps_responses"): 1,
        ("call_centre", "nps_detractors"): 1,
        ("call_centre", "nps_last_responses"): 1,
        ("call_centre", "nps_last_detractors"): 1,
    },
    "buyer": {
        ("web", "contacts"): 3,
        ("web", "first_purchases"): 1,
        ("web", "hours_to_purchase"): 50,
        ("web", "csat_responses"): 1,
        ("web", "csat_satisfied"): 1,
        ("web", "csat_last_responses"): 1,
        ("web", "csat_last_satisfied"): 1,
    },
    "order_chaser": {
        ("store", "contacts"): 1,
        ("email", "contacts"): 1,
        ("call_centre", "contacts"): 1,
        ("chat", "contacts"): 1,
        ("store", "assisted_contacts"): 1,
        ("email", "assisted_contacts"): 1,
        ("call_centre", "assisted_contacts"): 1,
        ("chat", "assisted_contacts"): 1,
        ("email", "repeat_contacts"): 1,
        ("call_centre", "repeat_contacts"): 1,
        ("chat", "repeat_contacts"): 1,
        ("store", "fcr_eligible"): 1,
        ("email", "fcr_eligible"): 1,
        ("call_centre", "fcr_eligible"): 1,
        ("chat", "fcr_eligible"): 1,
        ("store", "fcr_unresolved"): 1,
        ("email", "fcr_unresolved"): 1,
        ("call_centre", "fcr_unresolved"): 1,
        ("chat", "fcr_resolved"): 1,
        ("store", "episodes"): 1,
        ("store", "switched_episodes"): 1,
        ("store", "path_episodes"): 1,
        ("store", "first_purchases"): 1,
        ("store", "hours_to_purchase"): 0,
    },
    "unanswered": {
        ("email", "contacts"): 1,
        ("email", "assisted_contacts"): 1,
        ("email", "fcr_eligible"): 1,
        ("email", "fcr_resolved"): 1,
        ("email", "episodes"): 1,
        ("email", "path_episodes"): 1,
        ("email", "nps_responses"): 1,
        ("email", "nps_promoters"): 1,
        ("email", "nps_last_responses"): 1,
        ("email", "nps_last_promoters"): 1,
    },
}
PATHS = {
    "one_chat": "web -> chat",
    "switcher": "web -> chat -> email -> call_centre",
    "detractor": "call_centre",
    "order_chaser": "store -> email -> call_centre -> chat",
    "unanswered": "email",
}
#: The signal each script raises (rule, index of the anchor step), as of `AS_OF`.
SIGNALS = {
    "detractor": ("detractor_recontact", 1),
    "order_chaser": ("order_contacts", 4),
    "unanswered": ("unanswered_email", 0),
}


@dataclass(frozen=True)
class Journey:
    """One customer's scripted journey, placed on a day."""

    customer: str
    script: str
    start: datetime

    def event_id(self, i: int) -> str:
        return f"{self.customer}-{i}"

    def steps(self) -> list[tuple[str, datetime, str, str, dict[str, Any], list[dict[str, str]]]]:
        out = []
        for i, (hours, channel, kind, attrs) in enumerate(SCRIPTS[self.script]):
            idents = [{"type": "email", "value": f"{self.customer}@journeys.test"}]
            if (self.script, i) in REFERENCE_STEPS:
                idents.append({"type": "order_id", "value": "S-9"})
            clean = {k: v for k, v in attrs.items() if v is not None}
            out.append(
                (
                    self.event_id(i),
                    self.start + timedelta(hours=hours),
                    channel,
                    kind,
                    clean,
                    idents,
                )
            )
        return out

    def journey_events(self, customer_id: str | None = None) -> list[JourneyEvent]:
        return [
            JourneyEvent(
                customer_id or self.customer, eid, ch, kind, at, attrs, order_refs_of(attrs, idents)
            )
            for eid, at, ch, kind, attrs, idents in self.steps()
        ]

    def canonical(self) -> list[CanonicalEvent]:
        return [
            CanonicalEvent(
                event_id=eid,
                channel=ch,
                kind=kind,
                occurred_at=at,
                received_at=at + timedelta(seconds=1),
                source="journeys",
                identifiers=tuple(Identifier.parse(i["type"], i["value"]) for i in idents),
                summary=f"{kind} {eid}",
                attributes=attrs,
            )
            for eid, at, ch, kind, attrs, idents in self.steps()
        ]


def journey_set(per_script: int, seed: int = 9, days: int = 20) -> list[Journey]:
    """`per_script` customers of every script, each starting on a random day at 09:00-12:00."""
    rng = random.Random(seed)
    out = []
    for script in SCRIPTS:
        for n in range(per_script):
            start = START + timedelta(days=rng.randrange(days), minutes=rng.randrange(180))
            out.append(Journey(f"{script}-{n:04d}", script, start))
    return out


def expected_totals(journeys: list[Journey]) -> Counter[tuple[str, str]]:
    """(channel, measure) -> expected total over the set."""
    totals: Counter[tuple[str, str]] = Counter()
    for j in journeys:
        for key, value in EXPECTED[j.script].items():
            totals[key] += value
    return totals
