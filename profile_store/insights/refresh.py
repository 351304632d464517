"""SQL-backed metric refresh: one streaming pass over the timelines, ordered by customer and
time, through the pure metric code; contributions are COPYed in and summed per day.

A full refresh replaces everything in one transaction (readers keep the previous figures
until it commits). `since` recomputes only the customers with an event on or after
`since - 8 days` (the 7-day windows that may have closed or changed) or an event written
since `since`, and the days their old and new contributions touch.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

import structlog
from sqlalchemy import Connection, Engine, text

from profile_store.insights.events import JourneyEvent, order_refs_of
from profile_store.insights.journeys import Key, contributions

log = structlog.get_logger()

LOOKBACK: Final = timedelta(days=8)
FETCH_ROWS: Final = 20_000
COPY_ROWS: Final = 50_000

#: The event columns the metrics need, with a handful of attributes pulled out in SQL.
_EVENT_COLUMNS: Final = """
    e.customer_id, e.event_id, e.channel, e.kind, e.occurred_at,
    jsonb_strip_nulls(jsonb_build_object(
        'author_role', e.attributes->'author_role', 'metric', e.attributes->'metric',
        'score', e.attributes->'score', 'scale_max', e.attributes->'scale_max',
        'nps_category', e.attributes->'nps_category',
        'related_channel', e.attributes->'related_channel',
        'order_id', e.attributes->'order_id')) AS attributes,
    CASE WHEN e.identifiers @> '[{"type": "order_id"}]' THEN e.identifiers END AS identifiers
"""
#: Backward scan of ix_timeline_customer_time: customers descending, each in time order.
_ORDER: Final = "ORDER BY e.customer_id DESC, e.occurred_at, e.id"


@dataclass(frozen=True)
class RefreshResult:
    """What a refresh covered."""

    as_of: datetime
    since: date | None
    customers: int
    events: int
    rows: int
    seconds: float


def journey_event(row: Sequence[Any]) -> JourneyEvent:
    """A `JourneyEvent` from a row of `_EVENT_COLUMNS`."""
    cid, eid, channel, kind, at, attrs, idents = row
    return JourneyEvent(cid, eid, channel, kind, at, attrs, order_refs_of(attrs, idents))


def timelines(rows: Iterator[Sequence[Any]]) -> Iterator[list[JourneyEvent]]:
    """Group rows ordered by customer into one ordered list of events per customer."""
    current: list[JourneyEvent] = []
    for row in rows:
        ev = journey_event(row)
        if current and current[0].customer_id != ev.customer_id:
            yield current
            current = []
        current.append(ev)
    if current:
        yield current


def stream_timelines(
    conn: Connection, where: str, params: dict[str, Any]
) -> Iterator[list[JourneyEvent]]:
    """Every customer's events matching `where` (on `e`), one ordered list per customer."""
    sql = f"SELECT {_EVENT_COLUMNS} FROM timeline_events e {where} {_ORDER}"  # noqa: S608
    result = conn.execute(
        text(sql), params, execution_options={"stream_results": True, "yield_per": FETCH_ROWS}
    )
    return timelines(iter(result))


def _scope_sql(since: date | None) -> tuple[str, dict[str, Any]]:
    if since is None:
        return "", {}
    start = datetime.combine(since, datetime.min.time(), UTC)
    where = "WHERE e.customer_id IN (SELECT s.customer_id FROM insight_scope s)"
    return where, {"from_at": start - LOOKBACK, "written": start}


def _make_scope(conn: Connection, params: dict[str, Any]) -> None:
    conn.execute(
        text("CREATE TEMP TABLE insight_scope (customer_id text PRIMARY KEY) ON COMMIT DROP")
    )
    conn.execute(
        text(
            """INSERT INTO insight_scope
               SELECT DISTINCT customer_id FROM timeline_events
               WHERE occurred_at >= :from_at OR written_at >= :written"""
        ),
        params,
    )


def _copy(
    conn: Connection, customer: str, values: dict[Key, float], buf: list[tuple[Any, ...]]
) -> None:
    for (day, channel, measure, detail), value in values.items():
        buf.append((measure, day, channel, detail, customer, value))
    if len(buf) >= COPY_ROWS:
        _flush(conn, buf)


def _flush(conn: Connection, buf: list[tuple[Any, ...]]) -> None:
    if not buf:
        return
    raw = conn.connection.driver_connection
    assert raw is not None
    with (
        raw.cursor() as cur,
        cur.copy(_COPY) as copy,
    ):
        for row in buf:
            copy.write_row(row)
    buf.clear()


_REAGGREGATE: Final = """
    INSERT INTO insight_daily (day, measure, channel, detail, value, customers)
    SELECT day, measure, channel, detail, sum(value), count(DISTINCT customer_id)
    FROM insight_contributions {where}
    GROUP BY day, measure, channel, detail
"""


def refresh(
    engine: Engine, since: date | None = None, as_of: datetime | None = None
) -> RefreshResult:
    """Recompute the metrics (all, or the customers touched since `since`) as of `as_of`.

    One REPEATABLE READ transaction: the scope, the events read and the rows replaced all
    come from one snapshot, and a concurrent refresh waits for this one (advisory lock)."""
    as_of = as_of or datetime.now(UTC)
    started = time.perf_counter()
    where, params = _scope_sql(since)
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('threadline.insights'))"))
            conn.execute(text("SET LOCAL work_mem = '64MB'"))
            _clear(conn, since, params)
            customers, events, rows = _compute(conn, where, params, as_of)
            _reaggregate(conn, since)
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


# A stale row is one of a customer in scope or of a customer merged away since.
_STALE_DAYS: Final = """CREATE TEMP TABLE insight_days ON COMMIT DROP AS
    SELECT DISTINCT day FROM insight_contributions
    WHERE customer_id IN (SELECT customer_id FROM insight_scope)
       OR customer_id IN (SELECT customer_id FROM customers WHERE merged_into IS NOT NULL)"""
_DELETE_STALE: Final = """DELETE FROM insight_contributions
    WHERE customer_id IN (SELECT customer_id FROM insight_scope)
       OR customer_id IN (SELECT customer_id FROM customers WHERE merged_into IS NOT NULL)"""
_COPY: Final = (
    "COPY insight_contributions (measure, day, channel, detail, customer_id, value) FROM STDIN"
)


def _clear(conn: Connection, since: date | None, params: dict[str, Any]) -> None:
    if since is None:
        conn.execute(text("DELETE FROM insight_contributions"))
        conn.execute(text("DELETE FROM insight_daily"))
        return
    _make_scope(conn, params)
    conn.execute(text(_STALE_DAYS))
    conn.execute(text(_DELETE_STALE))


def _compute(
    conn: Connection, where: str, params: dict[str, Any], as_of: datetime
) -> tuple[int, int, int]:
    """Stream the events through the metric code; COPY the contributions in batches."""
    customers = events = rows = 0
    buf: list[tuple[Any, ...]] = []
    for timeline in stream_timelines(conn, where, params):
        customers += 1
        events += len(timeline)
        values = contributions(timeline, as_of)
        rows += len(values)
        _copy(conn, timeline[0].customer_id, values, buf)
    _flush(conn, buf)
    return customers, events, rows


def _reaggregate(conn: Connection, since: date | None) -> None:
    if since is None:
        conn.execute(text(_REAGGREGATE.format(where="")))
        return
    conn.execute(
        text(
            """INSERT INTO insight_days
               SELECT DISTINCT day FROM insight_contributions
               WHERE customer_id IN (SELECT customer_id FROM insight_scope)"""
        )
    )
    days = "WHERE day IN (SELECT day FROM insight_days)"
    conn.execute(text(f"DELETE FROM insight_daily {days}"))  # noqa: S608
    conn.execute(text(_REAGGREGATE.format(where=days)))
