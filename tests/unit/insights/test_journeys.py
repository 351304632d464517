"""Journey metrics on a generated journey set with known answers."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from profile_store.insights.events import JourneyEvent
from profile_store.insights.journeys import contributions, summarise, total
from tests.support.journeys import (
    AS_OF,
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
            if measure == "path_episodes":
                paths[detail] += int(value)
    return totals, paths


def test_every_measure_per_channel_matches_the_known_answers() -> None:
    totals, _ = measured(JOURNEYS)
    assert {k: v for k, v in totals.items() if v} == {
        k: v for k, v in expected_totals(JOURNEYS).items() if v
    }


def test_top_paths_before_resolution() -> None:
    _, paths = measured(JOURNEYS)
    assert paths == Counter({path: 25 for path in PATHS.values()})


def test_rates_from_the_known_answers() -> None:
    totals, _ = measured(JOURNEYS)
    rates = summarise(total((m, v) for (_c, m), v in totals.items()))
    # 25 each: assisted contacts 1 + 3 + 2 + 0 + 4 + 1 = 11; repeats 0 + 2 + 1 + 0 + 3 + 0 = 6.
    assert rates["repeat_contact_rate"] == round(100 * 6 / 11, 2)
    # Resolved at first contact: one_chat, switcher's call, detractor's 2nd call, chaser's
    # chat, the unanswered email: 5 of 11.
    assert rates["fcr_rate"] == round(100 * 5 / 11, 2)
    # Episodes: one_chat, switcher, detractor, chaser, unanswered; switched: 3 of 5.
    assert rates["channel_switch_rate"] == 60.0
    # One detractor (3) and one promoter (10) per pair of customers: NPS 0.
    assert rates["nps"] == 0.0 and rates["nps_by_last_channel"] == 0.0
    assert rates["csat"] == 100.0
    # Buyers take 50 h, store chasers 0 h: mean 25 h.
    assert rates["avg_hours_to_first_purchase"] == 25.0


def test_days_are_the_utc_day_of_each_contact() -> None:
    j = Journey("c1", "switcher", START.replace(hour=23, minute=50))
    days = {
        (measure, channel): day
        for (day, channel, measure, _), _v in contributions(j.journey_events(), AS_OF).items()
    }
    assert days[("contacts", "chat")] == START.date()
    assert days[("repeat_contacts", "email")] == START.date() + timedelta(days=1)
    assert days[("repeat_contacts", "call_centre")] == START.date() + timedelta(days=2)


def test_open_windows_are_pending_not_resolved() -> None:
    j = Journey("c1", "switcher", START)
    soon = START + timedelta(days=3)
    got = Counter()
    for (_d, channel, measure, _), v in contributions(j.journey_events(), soon).items():
        got[(channel, measure)] += v
    assert got[("chat", "fcr_eligible")] == 0  # its 7 days have not passed
    assert got[("chat", "episodes")] == 0  # the customer may still come back
    assert got[("email", "repeat_contacts")] == 1  # a repeat is known at once


def test_chat_messages_within_30_minutes_are_one_contact_and_staff_are_not_contacts() -> None:
    def msg(i: int, minutes: int, role: str) -> JourneyEvent:
        return JourneyEvent(
            "c",
            f"m{i}",
            "chat",
            "chat_message",
            START + timedelta(minutes=minutes),
            {"author_role": role},
        )

    events = [
        msg(1, 0, "customer"),
        msg(2, 20, "customer"),
        msg(3, 45, "customer"),
        msg(4, 200, "agent"),
    ]
    got = contributions(events, AS_OF)
    assert got[(START.date(), "chat", "contacts", "")] == 1


@pytest.mark.parametrize("script", ["one_chat", "buyer"])
def test_journeys_without_repeats_have_none(script: str) -> None:
    j = Journey("c", script, START)
    got = contributions(j.journey_events(), AS_OF)
    assert not any(m == "repeat_contacts" for (_d, _c, m, _x) in got)
