"""A generated journey set with known answers: seven scripted journeys, each repeated for many
customers on random days, so every metric's expected total is a count times a known figure."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from profile_store.insights.events import JourneyEvent, journey_event_of
from schemas import CanonicalEvent, Identifier

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
#: Long after every journey: every window has closed.
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
    # Browses (no help page), then one chat of two messages that settles it.
    "one_chat": [
        (-2, "web", "page_viewed", {"path": "/lamps"}),
        (0, "chat", "chat_message", {"author_role": "customer", "conversation_id": "c1"}),
        (0.1, "chat", "chat_message", {"author_role": "agent", "conversation_id": "c1"}),
    ],
    # The returns FAQ does not answer it: a call two hours later settles it; NPS 9.
    "self_service_call": [
        (0, "web", "page_viewed", {"path": "/help/returns", "name": "Returns"}),
        (2, "call_centre", "call_completed", {"direction": "inbound"}),
        (3, "survey", "survey_response", nps(9, "call_centre")),
    ],
    # Emails, has no answer by the next day and calls; the late reply; NPS 3 about the call.
    "email_then_call": [
        (0, "email", "email_received", {"thread_id": "t1"}),
        (26, "call_centre", "call_completed", {"direction": "inbound"}),
        (30, "email", "email_sent", {"thread_id": "t1"}),
        (31, "survey", "survey_response", nps(3, "call_centre")),
    ],
    # Buys online (a Shopify order reported in the store channel), then chases the order: a
    # call naming it, a chat, a call naming it again.
    "order_chaser": [
        (-1, "web", "page_viewed", {"path": "/rugs"}),
        (0, "store", "order_placed", {"order_id": "W-1", "sales_channel": "online"}),
        (48, "call_centre", "call_completed", {}),  # the order as a reference identifier
        (60, "chat", "chat_started", {"conversation_id": "c2"}),
        (72, "call_centre", "call_completed", {}),  # the order again
    ],
    # Two calls a day apart about two different orders: two matters, each resolved.
    "two_orders": [
        (0, "call_centre", "call_completed", {}),
        (24, "call_centre", "call_completed", {}),
    ],
    # Browses, buys in store 50 h later (till receipt), CSAT 5/5 about the store.
    "store_buyer": [
        (0, "web", "page_viewed", {"path": "/"}),
        (50, "store", "order_placed", {"order_id": "R-7", "sales_channel": "in_store"}),
        (
            51,
            "survey",
            "survey_response",
            {"metric": "csat", "score": 5, "scale_max": 5, "related_channel": "store"},
        ),
    ],
    # The FAQ answers it; CES 6 of 7 about the web.
    "help_contained": [
        (0, "web", "page_viewed", {"path": "/faq"}),
        (
            1,
            "survey",
            "survey_response",
            {"metric": "ces", "score": 6, "scale_max": 7, "related_channel": "web"},
        ),
    ],
}
#: Steps that carry an order as an `order_id` reference identifier: (script, step) -> order.
REFERENCE_STEPS = {
    ("order_chaser", 2): "W-1",
    ("order_chaser", 4): "W-1",
    ("two_orders", 0): "A-1",
    ("two_orders", 1): "B-2",
}


def spec(*lines: str) -> dict[tuple[str, str], float]:
    """Expected measures from lines of `channel measure measure=n ...` (n defaults to 1)."""
    out: dict[tuple[str, str], float] = {}
    for line in lines:
        channel, *measures = line.split()
        for m in measures:
            name, _, n = m.partition("=")
            out[(channel, name)] = float(n) if n else 1.0
    return out


#: Expected measure totals per channel for ONE customer of each script.
EXPECTED: dict[str, dict[tuple[str, str], float]] = {
    "one_chat": spec(
        "web visits",
        "chat contacts first_contacts fcr_eligible fcr_resolved matters matter_contacts "
        "path_matters",
    ),
    "self_service_call": spec(
        "web visits help_visits failed_self_service",
        "call_centre contacts first_contacts fcr_eligible fcr_resolved matters matter_contacts "
        "switched_matters path_matters nps_responses nps_promoters",
    ),
    "email_then_call": spec(
        "email contacts first_contacts fcr_eligible fcr_unresolved matters matter_contacts=2 "
        "switched_matters path_matters",
        "call_centre contacts repeat_contacts nps_responses nps_detractors",
    ),
    "order_chaser": spec(
        "web visits first_purchases hours_to_purchase=1",
        "call_centre contacts=2 first_contacts repeat_contacts fcr_eligible fcr_unresolved "
        "matters matter_contacts=3 switched_matters path_matters",
        "chat contacts repeat_contacts",
    ),
    "two_orders": spec(
        "call_centre contacts=2 first_contacts=2 fcr_eligible=2 fcr_resolved=2 matters=2 "
        "matter_contacts=2 path_matters=2"
    ),
    "store_buyer": spec(
        "web visits", "store first_purchases hours_to_purchase=50 csat_responses csat_satisfied"
    ),
    "help_contained": spec("web visits help_visits ces_responses ces_easy"),
}
PATHS = {
    "one_chat": "chat",
    "self_service_call": "web -> call_centre",
    "email_then_call": "email -> call_centre",
    "order_chaser": "call_centre -> chat -> call_centre",
    "two_orders": "call_centre",
}
#: The journey class of each script's survey answer.
JOURNEY_OF = {
    "self_service_call": "after_self_service",
    "email_then_call": "switched",
    "store_buyer": "no_contact",
    "help_contained": "no_contact",
}
#: The signals each script raises: (rule, index of the anchor step), as of `AS_OF`.
SIGNALS = {
    "email_then_call": {("unanswered_email", 1), ("detractor_open_matter", 3)},
    "order_chaser": {("order_contacts", 3)},
}


@dataclass(frozen=True)
class Journey:
    """One customer's scripted journey, placed on a day."""

    customer: str
    script: str
    start: datetime

    def event_id(self, i: int) -> str:
        return f"{self.customer}-{i}"

    @property
    def name(self) -> str:
        return f"Customer {self.customer}"

    def steps(self) -> list[tuple[str, datetime, str, str, dict[str, Any], list[dict[str, str]]]]:
        out = []
        for i, (hours, channel, kind, attrs) in enumerate(SCRIPTS[self.script]):
            idents = [{"type": "email", "value": f"{self.customer}@journeys.test"}]
            order = REFERENCE_STEPS.get((self.script, i))
            if order is not None:
                idents.append({"type": "order_id", "value": order})
            clean = {k: v for k, v in attrs.items() if v is not None}
            if i == 0:
                clean["traits"] = {"name": self.name}
            at = self.start + timedelta(hours=hours)
            out.append((self.event_id(i), at, channel, kind, clean, idents))
        return out

    def journey_events(self, customer_id: str | None = None) -> list[JourneyEvent]:
        """The events as the refresh reads them from the store."""
        return [
            journey_event_of(customer_id or self.customer, eid, ch, kind, at, attrs, idents)
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
