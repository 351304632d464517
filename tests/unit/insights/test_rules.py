"""Moments-of-truth rules on the generated journey set, and at their edges."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from profile_store.insights.events import JourneyEvent, journey_event_of
from profile_store.insights.rules import RuleConfig, evaluate
from tests.support.journeys import AS_OF, SIGNALS, START, Journey, journey_set, nps


def ev(i: int, hours: float, channel: str, kind: str, **attrs: Any) -> JourneyEvent:
    refs = attrs.pop("refs", ())
    idents = [{"type": "order_id", "value": r} for r in refs]
    at = START + timedelta(hours=hours)
    return journey_event_of("c", f"e{i}", channel, kind, at, attrs, idents)


def rules_of(events: list[JourneyEvent], config: RuleConfig | None = None) -> set[tuple[str, str]]:
    return {(s.rule, s.anchor_event_id) for s in evaluate(events, config or RuleConfig(), AS_OF)}


def test_each_script_raises_exactly_its_known_signals() -> None:
    for j in journey_set(per_script=10):
        expected = {(rule, j.event_id(step)) for rule, step in SIGNALS.get(j.script, set())}
        assert rules_of(j.journey_events()) == expected, j.script


def test_evaluation_is_stable_so_signals_are_idempotent() -> None:
    j = Journey("c", "order_chaser", START)
    first = evaluate(j.journey_events(), RuleConfig(), AS_OF)
    assert first == evaluate(j.journey_events(), RuleConfig(), AS_OF + timedelta(days=9))


def test_a_call_while_an_email_awaits_its_reply() -> None:
    chased = [ev(1, 0, "email", "email_received"), ev(2, 5, "call_centre", "call_completed")]
    (sig,) = evaluate(chased, RuleConfig(), AS_OF)
    assert (sig.rule, sig.anchor_event_id, sig.at) == (
        "unanswered_email",
        "e2",
        chased[1].occurred_at,
    )
    assert sig.detail == "called 5 h after emailing; no reply yet"
    answered = [
        ev(1, 0, "email", "email_received"),
        ev(2, 2, "email", "email_sent"),
        ev(3, 5, "call_centre", "call_completed"),
    ]
    assert rules_of(answered) == set()
    again = [*chased, ev(3, 6, "chat", "chat_started")]
    assert rules_of(again) == {("unanswered_email", "e2")}  # once per waiting email


def test_an_unanswered_email_timer_is_optional() -> None:
    events = [ev(1, 0, "email", "email_received"), ev(2, 1, "email", "email_received")]
    assert evaluate(events, RuleConfig(), AS_OF) == []
    timer = RuleConfig.model_validate({"unanswered_email": {"after_hours": 24}})
    assert evaluate(events, timer, START + timedelta(hours=23)) == []
    (sig,) = evaluate(events, timer, START + timedelta(hours=25))
    assert sig.anchor_event_id == "e1"  # the first unanswered one, once


def test_the_second_contact_about_an_order() -> None:
    events = [
        ev(1, 0, "email", "email_received", thread_id="t"),
        ev(2, 1, "email", "email_sent", thread_id="t"),
        ev(3, 30, "call_centre", "call_completed", refs=["1042"]),
    ]
    (sig,) = evaluate(events, RuleConfig(), AS_OF)
    assert (sig.rule, sig.anchor_event_id) == ("order_contacts", "e3")
    assert sig.detail == "contact 2 about order 1042 (call after email)"
    other_orders = [
        ev(1, 0, "call_centre", "call_completed", refs=["A-1"]),
        ev(2, 30, "call_centre", "call_completed", refs=["B-2"]),
    ]
    assert rules_of(other_orders) == set()
    no_order = [ev(1, 0, "call_centre", "call_completed"), ev(2, 30, "chat", "chat_started")]
    assert rules_of(no_order) == set()
    third = RuleConfig.model_validate({"order_contacts": {"count": 3}})
    assert rules_of(events, third) == set()


def test_a_detractor_with_an_open_matter() -> None:
    open_matter = [
        ev(1, 0, "call_centre", "call_completed"),
        ev(2, 30, "survey", "survey_response", **nps(2)),
    ]
    assert rules_of(open_matter) == {("detractor_open_matter", "e2")}
    closed = [
        ev(1, 0, "call_centre", "call_completed"),
        ev(2, 24 * 9, "survey", "survey_response", **nps(2)),
    ]
    assert rules_of(closed) == set()  # nine days after the last contact: nothing open
    recontact = [*closed, ev(3, 24 * 9 + 20, "chat", "chat_started")]
    assert rules_of(recontact) == {("detractor_open_matter", "e2")}
    late = [*closed, ev(3, 24 * 9 + 49, "chat", "chat_started")]
    assert rules_of(late) == set()
    longer = RuleConfig.model_validate({"detractor_open_matter": {"within_hours": 72}})
    assert rules_of(late, longer) == {("detractor_open_matter", "e2")}
    promoter = [
        ev(1, 0, "call_centre", "call_completed"),
        ev(2, 3, "survey", "survey_response", **nps(10)),
    ]
    assert rules_of(promoter) == set()


def test_low_csat_is_a_detractor_score() -> None:
    events = [
        ev(1, 0, "chat", "chat_started"),
        ev(2, 1, "survey", "survey_response", metric="csat", score=2, scale_max=5),
    ]
    assert rules_of(events) == {("detractor_open_matter", "e2")}
    strict = RuleConfig.model_validate({"detractor_open_matter": {"csat_max_share": 0.2}})
    assert rules_of(events, strict) == set()


def test_disabled_rules_raise_nothing() -> None:
    j = Journey("c", "email_then_call", START)
    off = RuleConfig.model_validate(
        {"unanswered_email": {"enabled": False}, "detractor_open_matter": {"enabled": False}}
    )
    assert evaluate(j.journey_events(), off, AS_OF) == []


@pytest.mark.parametrize(
    "bad",
    [
        {"order_contacts": {"count": 1}},
        {"nope": {}},
        {"unanswered_email": {"after_hours": 0}},
        {"detractor_recontact": {}},
    ],
)
def test_bad_rule_config_fails_fast(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        RuleConfig.model_validate(bad)
