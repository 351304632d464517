"""Moments-of-truth rules on the generated journey set, and at their edges."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from profile_store.insights.events import JourneyEvent
from profile_store.insights.rules import RuleConfig, evaluate
from tests.support.journeys import AS_OF, SIGNALS, START, Journey, journey_set


def test_each_script_raises_exactly_its_known_signal() -> None:
    journeys = journey_set(per_script=10)
    for j in journeys:
        got = {
            (s.rule, s.anchor_event_id) for s in evaluate(j.journey_events(), RuleConfig(), AS_OF)
        }
        if j.script in SIGNALS:
            rule, step = SIGNALS[j.script]
            assert got == {(rule, j.event_id(step))}, j.script
        else:
            assert got == set(), j.script


def test_evaluation_is_stable_so_signals_are_idempotent() -> None:
    j = Journey("c", "order_chaser", START)
    first = evaluate(j.journey_events(), RuleConfig(), AS_OF)
    assert first == evaluate(j.journey_events(), RuleConfig(), AS_OF + timedelta(days=9))


def email(i: int, hours: float, kind: str = "email_received") -> JourneyEvent:
    return JourneyEvent("c", f"e{i}", "email", kind, START + timedelta(hours=hours), {})


def test_unanswered_email_waits_the_configured_hours() -> None:
    events = [email(1, 0), email(2, 1)]
    assert evaluate(events, RuleConfig(), START + timedelta(hours=23)) == []
    (sig,) = evaluate(events, RuleConfig(), START + timedelta(hours=25))
    assert sig.anchor_event_id == "e1"  # the first unanswered one, once
    fast = RuleConfig.model_validate({"unanswered_email": {"after_hours": 2}})
    assert len(evaluate(events, fast, START + timedelta(hours=3))) == 1


def test_a_late_reply_still_leaves_the_signal_and_a_timely_one_none() -> None:
    late = [email(1, 0), email(2, 30, "email_sent")]
    assert [s.anchor_event_id for s in evaluate(late, RuleConfig(), AS_OF)] == ["e1"]
    timely = [email(1, 0), email(2, 3, "email_sent")]
    assert evaluate(timely, RuleConfig(), AS_OF) == []


def test_detractor_followed_after_the_window_is_not_a_signal() -> None:
    j = Journey("c", "detractor", START)
    events = j.journey_events()
    late = [
        *events[:2],
        JourneyEvent(
            "c",
            "late",
            "call_centre",
            "call_completed",
            events[1].occurred_at + timedelta(hours=49),
            {},
        ),
    ]
    assert evaluate(late, RuleConfig(), AS_OF) == []
    longer = RuleConfig.model_validate({"detractor_recontact": {"within_hours": 72}})
    assert [s.rule for s in evaluate(late, longer, AS_OF)] == ["detractor_recontact"]


def test_low_csat_is_a_detractor_score() -> None:
    survey = JourneyEvent(
        "c", "s", "survey", "survey_response", START, {"metric": "csat", "score": 2, "scale_max": 5}
    )
    call = JourneyEvent("c", "k", "call_centre", "call_completed", START + timedelta(hours=5), {})
    assert [s.anchor_event_id for s in evaluate([survey, call], RuleConfig(), AS_OF)] == ["s"]


def test_order_count_and_disabled_rules_are_configurable() -> None:
    j = Journey("c", "order_chaser", START)
    two = RuleConfig.model_validate({"order_contacts": {"count": 2}})
    (sig,) = evaluate(j.journey_events(), two, AS_OF)
    assert sig.anchor_event_id == j.event_id(3)
    off = RuleConfig.model_validate({"order_contacts": {"enabled": False}})
    assert evaluate(j.journey_events(), off, AS_OF) == []


@pytest.mark.parametrize(
    "bad",
    [{"order_contacts": {"count": 1}}, {"nope": {}}, {"unanswered_email": {"after_hours": 0}}],
)
def test_bad_rule_config_fails_fast(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        RuleConfig.model_validate(bad)
