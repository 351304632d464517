"""Stream timelines out of PostgreSQL, ordered by customer and time, as `JourneyEvent`s."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Final

from sqlalchemy import Connection, text

from profile_store.insights.events import ATTRIBUTE_KEYS, JourneyEvent, refs_of

FETCH_ROWS: Final = 20_000

#: The event columns the metrics need: the attributes of `ATTRIBUTE_KEYS` as text (a web
#: page's path, URL, name and category joined as `page`), and the identifiers when one of
#: them is a reference.
_EVENT_COLUMNS: Final = """
    e.customer_id, e.event_id, e.channel, e.kind, e.occurred_at,
    e.attributes->>'author_role', e.attributes->>'metric', e.attributes->>'score',
    e.attributes->>'scale_max', e.attributes->>'nps_category', e.attributes->>'related_channel',
    e.attributes->>'order_id', e.attributes->>'thread_id', e.attributes->>'conversation_id',
    e.attributes->>'direction', e.attributes->>'sales_channel',
    CASE WHEN e.channel = 'web' THEN concat_ws(' ', e.attributes->>'path', e.attributes->>'url',
        e.attributes->>'name', e.attributes->>'category') END,
    CASE WHEN e.identifiers @> '[{"type": "order_id"}]'
           OR e.identifiers @> '[{"type": "ticket_id"}]'
           OR e.identifiers @> '[{"type": "conversation_id"}]' THEN e.identifiers END
"""
#: Attributes read as numbers.
_NUMBERS: Final = frozenset({"score", "scale_max"})
#: Backward scan of ix_timeline_customer_time: customers descending, each in time order.
BY_CUSTOMER: Final = "ORDER BY e.customer_id DESC, e.occurred_at, e.id"
#: One customer's events (and those of customers merged into it) as one timeline.
BY_TIME: Final = "ORDER BY e.occurred_at, e.id"


def _number(value: str | None) -> float | None:
    try:
        return None if value is None else float(value)
    except ValueError:
        return None


def journey_event(row: Sequence[Any]) -> JourneyEvent:
    """A `JourneyEvent` from a row of `_EVENT_COLUMNS`."""
    cid, eid, channel, kind, at, *values, idents = row
    attrs: dict[str, Any] = {}
    for key, value in zip(ATTRIBUTE_KEYS, values, strict=True):
        if key in _NUMBERS:
            value = _number(value)
        if value is not None and value != "":
            attrs[key] = value
    return JourneyEvent(cid, eid, channel, kind, at, attrs, refs_of(attrs, idents))


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


def select_events(where: str, order: str = BY_CUSTOMER) -> str:
    """The query of `_EVENT_COLUMNS` for events matching `where` (on `e`, a constant with
    bound parameters), in `order`."""
    return f"SELECT {_EVENT_COLUMNS} FROM timeline_events e {where} {order}"  # noqa: S608


def stream_timelines(
    conn: Connection, where: str, params: dict[str, Any]
) -> Iterator[list[JourneyEvent]]:
    """Every customer's events matching `where` (on `e`), one ordered list per customer."""
    sql = select_events(where)
    result = conn.execute(
        text(sql), params, execution_options={"stream_results": True, "yield_per": FETCH_ROWS}
    )
    return timelines(iter(result))
