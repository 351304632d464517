"""Journey metrics on a generated journey set with known answers, and each definition on
hand-made journeys."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from profile_store.insights.events import JourneyEvent, journey_event_of
from profile_store.insights.journeys import Key, contributions, explain, summarise, total
from tests.support.journeys import (
    AS_OF,
    JOURNEY_OF,
    PATHS,
    START,
    Journey,
    expected_totals,
    journey_set,
)

JOURNEYS = journey_set(per_script=25)


def measured(journeys: list[Journey]) -> tuple[Counter[tuple[str, str]], Counter[str]]:
    totals: Counter[tuple[str, str]] = Counter()
    paths: Counter[str] = Counter()
    for j in journeys:
        for (_day, channel, measure, detail), value in contributions(
            j.journey_events(), AS_OF
        ).items():
            totals[(channel, measure)] += value
            if measure == "path_matters":
                paths[detail] += int(value)
    return totals, paths


def ev(i: int, hours: float, channel: str, kind: str, **attrs: Any) -> JourneyEvent:
    """A hand-made event `hours` after START (`refs` as reference identifiers)."""
    refs = attrs.pop("refs", ())
    idents = [{"type": "order_id", "value": r} for r in refs]
    at = START + timedelta(hours=hours)
    return journey_event_of("c", f"e{i}", channel, kind, at, attrs, idents)


def got(events: list[JourneyEvent], as_of: Any = AS_OF) -> Counter[tuple[str, str]]:
    out: Counter[tuple[str, str]] = Counter()
    for (_d, channel, measure, _x), value in contributions(events, as_of).items():
        out[(channel, measure)] += value
    return out


def test_every_measure_per_channel_matches_the_known_answers() -> None:
    totals, _ = measured(JOURNEYS)
    assert {k: v for k, v in totals.items() if v} == {
        k: v for k, v in expected_totals(JOURNEYS).items() if v
    }


def test_top_paths() -> None:
    _, paths = measured(JOURNEYS)
    want = Counter({path: 25 for path in PATHS.values()})
    want["call_centre"] = 50  # two_orders: two matters each
    assert paths == want


def test_rates_from_the_known_answers() -> None:
    totals, _ = measured(JOURNEYS)
    rates = summarise(total((m, v) for (_c, m), v in totals.items()))
    # Per 25: contacts 1 + 1 + 2 + 3 + 2 = 9, of which repeats 1 (call after email) + 2.
    assert rates["repeat_contact_rate"] == round(100 * 3 / 9, 2)
    # First contacts: one_chat, self_service_call, email, chaser's call, two calls: resolved
    # all but the email and the chaser's call: 4 of 6.
    assert rates["fcr_rate"] == round(100 * 4 / 6, 2)
    # Matters 1 + 1 + 1 + 1 + 2 = 6; switched: after the FAQ, email to call, chaser: 3.
    assert rates["channel_switch_rate"] == 50.0
    # Help visits: the returns FAQ (failed) and the contained FAQ: 1 of 2 failed.
    assert rates["failed_self_service_rate"] == 50.0
    assert rates["contacts_per_matter"] == 1.5  # 9 contacts over 6 matters
    # One promoter (9) and one detractor (3) per pair of customers: NPS 0.
    assert rates["nps"] == 0.0 and rates["csat"] == 100.0 and rates["ces"] == 100.0
    # Order chasers buy online 1 h after browsing, store buyers 50 h: mean 25.5 h.
    assert rates["avg_hours_to_first_purchase"] == 25.5


def test_survey_answers_carry_their_journey() -> None:
    for script, journey in JOURNEY_OF.items():
        details = {
            x
            for (_d, _c, m, x) in contributions(Journey("c", script, START).journey_events(), AS_OF)
            if m.endswith("_responses")
        }
        assert details == {journey}, script


def test_a_purchase_after_a_chat_is_not_a_repeat_contact() -> None:
    events = [
        ev(1, 0, "chat", "chat_message", author_role="customer", conversation_id="c1"),
        ev(2, 2, "store", "order_placed", order_id="W-9", sales_channel="in_store"),
        ev(3, 3, "store", "order_collected", order_id="W-9"),
        ev(4, 4, "web", "page_viewed", path="/account"),
    ]
    counts = got(events)
    assert counts[("chat", "contacts")] == 1 and counts[("chat", "fcr_resolved")] == 1
    assert not any(m in ("repeat_contacts", "contacts") for (ch, m) in counts if ch != "chat")
    assert sum(v for (_c, m), v in counts.items() if m == "repeat_contacts") == 0


def test_the_order_channel_keys_the_purchase_time() -> None:
    online = [
        ev(1, 0, "call_centre", "call_completed"),
        ev(2, 5, "store", "order_placed", order_id="1001", sales_channel="online"),
    ]
    assert got(online)[("web", "hours_to_purchase")] == 5  # a Shopify web order
    till = [ev(1, 0, "web", "page_viewed", path="/"), ev(2, 8, "store", "order_placed")]
    assert got(till)[("store", "hours_to_purchase")] == 8
    walk_in = [ev(1, 0, "store", "order_placed", sales_channel="in_store")]
    assert got(walk_in)[("store", "first_purchases")] == 0  # nothing before it: not counted


@pytest.mark.parametrize(
    ("second", "repeat"),
    [
        ({"refs": ["A-1"]}, True),  # same order
        ({"refs": ["B-2"]}, False),  # another order: another matter
        ({}, True),  # nothing says it is another matter
    ],
)
def test_a_repeat_is_a_contact_about_the_same_matter(second: dict[str, Any], repeat: bool) -> None:
    events = [
        ev(1, 0, "call_centre", "call_completed", refs=["A-1"]),
        ev(2, 30, "email", "email_received", thread_id="t9", **second),
    ]
    assert got(events)[("email", "repeat_contacts")] == (1 if repeat else 0)


def test_a_repeat_comes_within_the_window_of_the_previous_contact() -> None:
    near = [ev(1, 0, "call_centre", "call_completed"), ev(2, 6 * 24, "chat", "chat_started")]
    far = [ev(1, 0, "call_centre", "call_completed"), ev(2, 8 * 24, "chat", "chat_started")]
    assert got(near)[("chat", "repeat_contacts")] == 1
    assert got(far)[("chat", "repeat_contacts")] == 0
    assert got(far)[("chat", "first_contacts")] == 1


def test_the_same_email_thread_is_one_matter_across_other_references() -> None:
    events = [
        ev(1, 0, "email", "email_received", thread_id="t1", refs=["A-1"]),
        ev(2, 2, "email", "email_sent", thread_id="t1"),
        ev(3, 20, "email", "email_received", thread_id="t1"),
    ]
    counts = got(events)
    assert counts[("email", "contacts")] == 2 and counts[("email", "repeat_contacts")] == 1


def test_what_is_not_a_contact() -> None:
    events = [
        ev(1, 0, "chat", "chat_message", author_role="agent", conversation_id="c"),
        ev(2, 1, "chat", "chat_ended", conversation_id="c"),  # a widget's end marker
        ev(3, 2, "call_centre", "call_completed", direction="outbound"),
        ev(4, 3, "email", "email_sent"),
        ev(5, 4, "web", "page_viewed", path="/help"),
        ev(6, 5, "store", "return"),
        ev(7, 6, "call_centre", "call_abandoned"),
    ]
    assert sum(v for (_c, m), v in got(events).items() if m == "contacts") == 0


def test_a_chat_is_one_contact_and_a_connect_chat_counts() -> None:
    def msg(i: int, minutes: int, role: str) -> JourneyEvent:
        return ev(i, minutes / 60, "chat", "chat_message", author_role=role, conversation_id="c")

    events = [msg(1, 0, "customer"), msg(2, 20, "customer"), msg(3, 45, "customer")]
    assert got(events)[("chat", "contacts")] == 1
    connect = [ev(1, 0, "chat", "chat_ended", direction="inbound")]
    assert got(connect)[("chat", "contacts")] == 1


def test_first_contact_resolution_waits_for_its_window() -> None:
    events = Journey("c1", "email_then_call", START).journey_events()
    soon = got(events, START + timedelta(days=3))
    assert soon[("email", "fcr_eligible")] == 0  # its 7 days have not passed
    assert soon[("email", "matters")] == 0  # the customer may still come back
    assert soon[("call_centre", "repeat_contacts")] == 1  # a repeat is known at once


def test_failed_self_service_is_a_help_visit_followed_by_a_contact_within_a_day() -> None:
    browsing = [
        ev(1, 0, "web", "page_viewed", path="/lamps"),
        ev(2, 1, "call_centre", "call_completed"),
    ]
    late = [ev(1, 0, "web", "page_viewed", path="/faq"), ev(2, 30, "call_centre", "call_completed")]
    failed = [
        ev(1, 0, "web", "page_viewed", name="Delivery FAQ", category="Help"),
        ev(2, 3, "chat", "chat_started"),
    ]
    assert got(browsing)[("web", "help_visits")] == 0
    assert got(browsing)[("call_centre", "switched_matters")] == 0
    assert got(late)[("web", "help_visits")] == 1 and got(late)[("web", "failed_self_service")] == 0
    assert got(failed)[("web", "failed_self_service")] == 1
    assert got(failed)[("chat", "switched_matters")] == 1


def test_days_are_the_utc_day_of_each_contact() -> None:
    j = Journey("c1", "email_then_call", START.replace(hour=23, minute=50))
    days = {
        (measure, channel): day
        for (day, channel, measure, _), _v in contributions(j.journey_events(), AS_OF).items()
    }
    assert days[("contacts", "email")] == START.date()
    assert days[("repeat_contacts", "call_centre")] == START.date() + timedelta(days=2)


def test_each_figure_explains_itself_with_its_events() -> None:
    j = Journey("c", "order_chaser", START)
    proof: dict[Key, tuple[float, list[str]]] = explain(j.journey_events(), AS_OF)
    by_measure = {(k[1], k[2]): ids for k, (_v, ids) in proof.items()}
    # The chat repeats the first call; the last call repeats the chat.
    assert by_measure[("chat", "repeat_contacts")] == [j.event_id(2), j.event_id(3)]
    assert by_measure[("call_centre", "repeat_contacts")] == [j.event_id(3), j.event_id(4)]
    assert by_measure[("web", "first_purchases")] == [j.event_id(0), j.event_id(1)]
    values = {k: v for k, (v, _ids) in proof.items()}
    assert values == contributions(j.journey_events(), AS_OF)
