"""When a round of `threadline insights run` refreshes the metrics (no I/O: the decision)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from services.insight_rounds import Rounds
from services.insights import InsightsSettings

SETTINGS = InsightsSettings(database_url="postgresql://x/y", insights_refresh_max_s=600)
LAST = datetime(2026, 5, 1, tzinfo=UTC)


def rounds() -> Rounds:
    r = Rounds(SETTINGS)  # the engine connects only when used
    r.refreshed_id, r.previous_id, r.refreshed_at = 100, 100, time.monotonic()
    return r


def test_never_computed_is_due_at_once() -> None:
    assert rounds().refresh_due(100, None)


def test_nothing_new_is_not_due_until_the_figures_are_old() -> None:
    r = rounds()
    assert not r.refresh_due(100, LAST)
    r.refreshed_at = time.monotonic() - 601
    assert r.refresh_due(100, LAST)  # time closes windows: refresh anyway


def test_a_load_in_progress_waits_until_writes_settle() -> None:
    r = rounds()
    assert not r.refresh_due(180, LAST)  # new events since the previous round: still writing
    r.previous_id = 180
    assert r.refresh_due(180, LAST)  # nothing new since the previous round: settled
