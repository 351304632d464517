"""`threadline insights run`: keep the journey metrics and the moments-of-truth signals current
while the stack runs (a supervised child of `threadline dev`; production schedules the two
commands as CronJobs instead).

Every `INSIGHTS_INTERVAL_S` a round evaluates the signals and delivers them (Kafka, webhook);
it refreshes the metrics when events were written since the last refresh (incrementally,
from yesterday), and at least every `INSIGHTS_REFRESH_MAX_S` (windows close as time passes).
SIGTERM ends it at once: a refresh cut short rolls back and the figures stay as they were.
"""

from __future__ import annotations

import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Final

import structlog
from kafka.errors import KafkaError

from profile_store import ProfileStoreError
from profile_store.insights import refresh
from profile_store.storage.engines import make_sync_engine
from services.insights import InsightsSettings, run_signals

log = structlog.get_logger()


#: Customers with events written this long before a round's previous one are evaluated
#: again (events committed late in the previous round).
OVERLAP: Final = timedelta(minutes=1)


class Rounds:
    """The state between rounds: what the last refresh saw and when, the previous round."""

    def __init__(self, settings: InsightsSettings) -> None:
        self.settings = settings
        self.engine = make_sync_engine(settings.database_url)
        self.refreshed_id = -1
        self.previous_id = -1
        self.refreshed_at = -float("inf")
        self.last_round: datetime | None = None

    def refresh_due(self, newest: int, last: datetime | None) -> bool:
        """Refresh when events were written since the last refresh and none since the previous
        round (a load in progress is not read again and again), or when the figures are
        older than `INSIGHTS_REFRESH_MAX_S` (time closes windows), or were never computed."""
        stale = time.monotonic() - self.refreshed_at >= self.settings.insights_refresh_max_s
        settled = newest != self.refreshed_id and newest == self.previous_id
        return last is None or stale or settled

    def once(self) -> None:
        """One round: the metrics if due, then the signals of the customers with new events
        (all of the lookback when the figures are refreshed)."""
        started = datetime.now(UTC)
        newest, last = refresh.store_state(self.engine)
        scope: datetime | None = None
        if self.refresh_due(newest, last):
            since = None if last is None else started.date() - timedelta(days=1)
            refresh.refresh(self.engine, since=since)
            self.refreshed_id, self.refreshed_at = newest, time.monotonic()
        elif self.last_round is not None:
            scope = self.last_round - OVERLAP
        self.previous_id = newest
        run_signals(self.settings, scope_since=scope)
        self.last_round = started

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()


def run_rounds(settings: InsightsSettings) -> int:
    """Run rounds until SIGTERM or SIGINT; returns the exit code (0)."""
    stop = threading.Event()
    busy = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()
        if busy.is_set():
            raise SystemExit(0)  # abandon the round: its transaction rolls back

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    rounds = Rounds(settings)
    log.info("insight_rounds_started", interval_s=settings.insights_interval_s)
    try:
        while not stop.is_set():
            busy.set()
            try:
                rounds.once()
            except (ProfileStoreError, KafkaError) as exc:  # away for now: try next round
                log.warning("insight_round_failed", error_type=type(exc).__name__)
            finally:
                busy.clear()
            stop.wait(settings.insights_interval_s)
    finally:
        rounds.close()
    log.info("insight_rounds_stopped")
    return 0
