"""Insight settings fail fast, naming the variable."""

from __future__ import annotations

import pytest

from services.insights import InsightsSettings


@pytest.mark.parametrize(
    ("rules", "where"),
    [('{"order_contacts": {"count": 0}}', "order_contacts.count"), ('{"x": {}}', "x"), ("[", "")],
)
def test_bad_rule_settings_fail_fast_naming_the_variable(rules: str, where: str) -> None:
    with pytest.raises(ValueError, match=f"THREADLINE_SIGNAL_RULES: {where}"):
        InsightsSettings(database_url="postgresql://x/y", signal_rules=rules)


def test_rules_are_parsed_once() -> None:
    s = InsightsSettings(
        database_url="postgresql://x/y", signal_rules='{"unanswered_email": {"after_hours": 12}}'
    )
    assert s.rules.unanswered_email.after_hours == 12
    assert s.rules.order_contacts.count == 2  # the default: the second contact
