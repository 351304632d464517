"""SQL-backed metric refresh: one streaming pass over the timelines, ordered by customer and
time, through the pure metric code.

Full refresh: contributions are COPYed into a fresh table that replaces the old one at the
end (readers keep the previous figures until then), daily sums are added up in memory.
`since`: only the customers with an event on or after `since - 8 days` (the 7-day windows that
may have closed or changed) or written since `since` are recomputed, and the days their old
and new contributions touch are summed again (a full refresh when that is most customers).
Both run in one REPEATABLE READ transaction, one refresh at a time.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

import structlog
from sqlalchemy import Connection, Engine, text

from profile_store.insights.journeys import Key, contributions
from profile_store.insights.stream import stream_timelines

log = structlog.get_logger()

LOOKBACK: Final = timedelta(days=8)
#: Above this share of customers in an incremental scope, a full refresh runs instead
#: (measured: rewriting 80 % of the rows in place costs twice a full rebuild).
FULL_SHARE: Final = 0.4
COPY_ROWS: Final = 50_000
_COLUMNS: Final = "(measure, day, channel, detail, customer_id, value)"
_STAGE: Final = "insight_contributions_next"


@dataclass(frozen=True)
class RefreshResult:
    """What a refresh covered."""

    as_of: datetime
    since: date | None
    customers: int
    events: int
    rows: int
    seconds: float


class _Writer:
    """COPYs contribution rows into `table` in batches; sums them per daily key."""

    def __init__(self, conn: Connection, table: str, keep_totals: bool) -> None:
        self.conn, self.table, self.keep_totals = conn, table, keep_totals
        self.buf: list[tuple[Any, ...]] = []
        self.totals: dict[Key, list[float]] = defaultdict(lambda: [0.0, 0])
        self.rows = 0

    def add(self, customer: str, values: dict[Key, float]) -> None:
        for key, value in values.items():
            day, channel, measure, detail = key
            self.buf.append((measure, day, channel, detail, customer, value))
            if self.keep_totals:
                total = self.totals[key]
                total[0] += value
                total[1] += 1
        self.rows += len(values)
        if len(self.buf) >= COPY_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.buf:
            return
        raw = self.conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur, cur.copy(f"COPY {self.table} {_COLUMNS} FROM STDIN") as copy:
            for row in self.buf:
                copy.write_row(row)
        self.buf.clear()


def refresh(
    engine: Engine,
    since: date | None = None,
    as_of: datetime | None = None,
    full_share: float = FULL_SHARE,
) -> RefreshResult:
    """Recompute the metrics (all, or the customers touched since `since`) as of `as_of`."""
    as_of = as_of or datetime.now(UTC)
    started = time.perf_counter()
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            # One refresh at a time, and this one's snapshot taken once the previous one has
            # committed: LOCK TABLE takes no snapshot, so it must come first (an advisory lock
            # is a SELECT: the snapshot would predate the wait, and miss the rows to replace).
            conn.execute(text("LOCK TABLE insight_refreshes IN SHARE ROW EXCLUSIVE MODE"))
            conn.execute(text("SET LOCAL work_mem = '64MB'"))
            if since is not None and _scope(conn, since) > full_share * _all_customers(conn):
                since = None  # most customers changed: a full refresh is cheaper
            if since is None:
                customers, events, rows = _full(conn, as_of)
            else:
                customers, events, rows = _incremental(conn, since, as_of)
            seconds = time.perf_counter() - started
            conn.execute(
                text(
                    """INSERT INTO insight_refreshes (as_of, since, customers, events, seconds)
                       VALUES (:as_of, :since, :customers, :events, :seconds)"""
                ),
                {
                    "as_of": as_of,
                    "since": since,
                    "customers": customers,
                    "events": events,
                    "seconds": seconds,
                },
            )
    log.info("insights_refreshed", customers=customers, events=events, rows=rows, seconds=seconds)
    return RefreshResult(as_of, since, customers, events, rows, seconds)


def _compute(
    conn: Connection, writer: _Writer, where: str, params: dict[str, Any], as_of: datetime
) -> tuple[int, int]:
    customers = events = 0
    for timeline in stream_timelines(conn, where, params):
        customers += 1
        events += len(timeline)
        writer.add(timeline[0].customer_id, contributions(timeline, as_of))
    writer.flush()
    return customers, events


_SWAP: Final = (
    f"CREATE TABLE {_STAGE} (LIKE insight_contributions INCLUDING DEFAULTS)",
    None,  # the COPY runs here
    f"ALTER TABLE {_STAGE} ADD CONSTRAINT pk_{_STAGE} PRIMARY KEY "
    "(measure, day, channel, detail, customer_id)",
    "DROP TABLE insight_contributions",
    f"ALTER TABLE {_STAGE} RENAME TO insight_contributions",
    f"ALTER TABLE insight_contributions RENAME CONSTRAINT pk_{_STAGE} TO pk_insight_contributions",
)


def _full(conn: Connection, as_of: datetime) -> tuple[int, int, int]:
    """Fill a new table without indexes, index it once, swap it in; daily sums from memory."""
    create, _, *swap = _SWAP
    assert create is not None
    conn.execute(text(create))
    writer = _Writer(conn, _STAGE, keep_totals=True)
    customers, events = _compute(conn, writer, "", {}, as_of)
    for statement in swap:
        assert statement is not None
        conn.execute(text(statement))
    conn.execute(text("DELETE FROM insight_daily"))
    rows = [
        {"day": d, "channel": c, "measure": m, "detail": x, "value": v, "customers": n}
        for (d, c, m, x), (v, n) in writer.totals.items()
    ]
    if rows:
        conn.execute(
            text(
                """INSERT INTO insight_daily (day, measure, channel, detail, value, customers)
                   VALUES (:day, :measure, :channel, :detail, :value, :customers)"""
            ),
            rows,
        )
    return customers, events, writer.rows


# A stale row is one of a customer in scope or of a customer merged away since.
_SCOPE: Final = """CREATE TEMP TABLE insight_scope ON COMMIT DROP AS
    SELECT DISTINCT customer_id FROM timeline_events
    WHERE occurred_at >= :from_at OR written_at >= :written"""
_STALE_DAYS: Final = """CREATE TEMP TABLE insight_days ON COMMIT DROP AS
    SELECT DISTINCT day FROM insight_contributions
    WHERE customer_id IN (SELECT customer_id FROM insight_scope)
       OR customer_id IN (SELECT customer_id FROM customers WHERE merged_into IS NOT NULL)"""
_DELETE_STALE: Final = """DELETE FROM insight_contributions
    WHERE customer_id IN (SELECT customer_id FROM insight_scope)
       OR customer_id IN (SELECT customer_id FROM customers WHERE merged_into IS NOT NULL)"""
_NEW_ROWS: Final = """CREATE TEMP TABLE insight_new ON COMMIT DROP AS
    SELECT * FROM insight_contributions WITH NO DATA"""
_INSERT_NEW: Final = """INSERT INTO insight_contributions
    SELECT * FROM insight_new ORDER BY measure, day, channel, detail, customer_id"""
_NEW_DAYS: Final = """INSERT INTO insight_days
    SELECT DISTINCT day FROM insight_contributions
    WHERE customer_id IN (SELECT customer_id FROM insight_scope)"""
_REAGGREGATE: Final = (
    "DELETE FROM insight_daily WHERE day IN (SELECT day FROM insight_days)",
    """INSERT INTO insight_daily (day, measure, channel, detail, value, customers)
       SELECT day, measure, channel, detail, sum(value), count(*)
       FROM insight_contributions WHERE day IN (SELECT day FROM insight_days)
       GROUP BY day, measure, channel, detail""",
)


def _scope(conn: Connection, since: date) -> int:
    """Create the temp table of customers to recompute; returns how many."""
    start = datetime.combine(since, datetime.min.time(), UTC)
    conn.execute(text(_SCOPE), {"from_at": start - LOOKBACK, "written": start})
    conn.execute(text("ANALYZE insight_scope"))
    return int(conn.execute(text("SELECT count(*) FROM insight_scope")).scalar_one())


def _all_customers(conn: Connection) -> int:
    sql = "SELECT count(*) FROM customers WHERE merged_into IS NULL"
    return int(conn.execute(text(sql)).scalar_one())


def _incremental(conn: Connection, since: date, as_of: datetime) -> tuple[int, int, int]:
    conn.execute(text(_STALE_DAYS))
    conn.execute(text(_DELETE_STALE))
    # COPY into a scratch table, then insert in key order: far cheaper for the primary key's
    # index than rows arriving in customer order.
    conn.execute(text(_NEW_ROWS))
    writer = _Writer(conn, "insight_new", keep_totals=False)
    where = "WHERE e.customer_id IN (SELECT s.customer_id FROM insight_scope s)"
    customers, events = _compute(conn, writer, where, {}, as_of)
    conn.execute(text(_INSERT_NEW))
    conn.execute(text(_NEW_DAYS))
    for statement in _REAGGREGATE:
        conn.execute(text(statement))
    return customers, events, writer.rows


def store_state(engine: Engine) -> tuple[int, datetime | None]:
    """(the newest timeline row id, when the metrics were last refreshed): whether a refresh
    has anything new to read, in two index lookups."""
    with engine.connect() as conn:
        newest = conn.execute(text("SELECT coalesce(max(id), 0) FROM timeline_events")).scalar()
        refreshed = conn.execute(text("SELECT max(as_of) FROM insight_refreshes")).scalar()
    return int(newest or 0), refreshed
