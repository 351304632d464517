"""Stream timelines out of PostgreSQL, ordered by customer and time, as `JourneyEvent`s."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Final

from sqlalchemy import Connection, text

from profile_store.insights.events import JourneyEvent, order_refs_of

FETCH_ROWS: Final = 20_000

#: The event columns the metrics need, with a handful of attributes pulled out as text.
_EVENT_COLUMNS: Final = """
    e.customer_id, e.event_id, e.channel, e.kind, e.occurred_at,
    e.attributes->>'author_role', e.attributes->>'metric', e.attributes->>'score',
    e.attributes->>'scale_max', e.attributes->>'nps_category', e.attributes->>'related_channel',
    e.attributes->>'order_id',
    CASE WHEN e.identifiers @> '[{"type": "order_id"}]' THEN e.identifiers END AS identifiers
"""
#: Backward scan of ix_timeline_customer_time: customers descending, each in time order.
_ORDER: Final = "ORDER BY e.customer_id DESC, e.occurred_at, e.id"


def _number(value: str | None) -> float | None:
    try:
        return None if value is None else float(value)
    except ValueError:
        return None


def journey_event(row: Sequence[Any]) -> JourneyEvent:
    """A `JourneyEvent` from a row of `_EVENT_COLUMNS`."""
    cid, eid, channel, kind, at, role, metric, score, scale, category, related, order, idents = row
    attrs: dict[str, Any] = {}
    for key, value in (
        ("author_role", role),
        ("metric", metric),
        ("score", _number(score)),
        ("scale_max", _number(scale)),
        ("nps_category", category),
        ("related_channel", related),
        ("order_id", order),
    ):
        if value is not None:
            attrs[key] = value
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
