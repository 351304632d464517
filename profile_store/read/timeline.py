"""A timeline page in one statement on a psycopg connection: keyset pagination served by
`(customer_id, occurred_at DESC, id DESC)` (no OFFSET, no sort), a merged-away id resolved
to its survivor inside the same statement."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from profile_store.read.cursors import decode_cursor, encode_cursor
from profile_store.read.errors import InvalidQuery
from profile_store.read.models import TimelineItem, TimelinePage
from profile_store.storage.driver import PgConnection, fetch_all
from profile_store.storage.survivor import survivor_of, survivor_sql

_COLUMNS: Final = (
    "t.id, t.event_id, t.channel, t.kind, t.occurred_at, t.received_at, t.source, t.summary, "
    "t.attributes, t.trust"
)
DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 200
MAX_FILTER_VALUES: Final = 32
#: The survivor of `customer_id` (`profile_store.storage.survivor`).
SURVIVOR: Final = survivor_sql("%(customer_id)s")


def _values(name: str, values: str | Sequence[str] | None) -> list[str]:
    if values is None:
        return []
    items = [values] if isinstance(values, str) else list(dict.fromkeys(values))
    if len(items) > MAX_FILTER_VALUES:
        raise InvalidQuery(f"{name} accepts at most {MAX_FILTER_VALUES} values")
    return items


def _aware(name: str, value: datetime | None) -> datetime | None:
    if value is not None and value.utcoffset() is None:
        raise InvalidQuery(f"{name} must include a timezone")
    return value


def timeline_query(
    customer_id: str,
    *,
    follow_merge: bool = False,
    channel: str | Sequence[str] | None = None,
    kind: str | Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
    after: tuple[datetime, int] | None = None,
) -> tuple[str, dict[str, Any]]:
    """The keyset query for one page (one row more than `limit`, to detect a next page) and
    its parameters. With `follow_merge` it reads the survivor of `customer_id` and returns
    that id as column `c`. `since` is inclusive, `until` exclusive; `after` is the last
    `(occurred_at, id)` seen. The text depends only on which filters are given, so psycopg
    prepares each form once per connection."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidQuery(f"limit must be between 1 and {MAX_LIMIT}")
    channels, kinds = _values("channel", channel), _values("kind", kind)
    since, until = _aware("since", since), _aware("until", until)
    if since is not None and until is not None and since > until:
        raise InvalidQuery("since must not be after until")
    owner = SURVIVOR if follow_merge else "%(customer_id)s"
    where = [f"t.customer_id = {owner}"]
    params: dict[str, Any] = {"customer_id": customer_id, "limit": limit + 1}
    if channels:
        where.append("t.channel = ANY(%(channels)s::text[])")
        params["channels"] = channels
    if kinds:
        where.append("t.kind = ANY(%(kinds)s::text[])")
        params["kinds"] = kinds
    if since is not None:
        where.append("t.occurred_at >= %(since)s::timestamptz")
        params["since"] = since
    if until is not None:
        where.append("t.occurred_at < %(until)s::timestamptz")
        params["until"] = until
    if after is not None:
        where.append("(t.occurred_at, t.id) < (%(after_at)s::timestamptz, %(after_id)s::bigint)")
        params["after_at"], params["after_id"] = after
    columns = f"{_COLUMNS}, {SURVIVOR} AS c" if follow_merge else _COLUMNS
    sql = (
        f"SELECT {columns} FROM timeline_events t WHERE {' AND '.join(where)} "  # noqa: S608 - fixed fragments; values are parameters
        "ORDER BY t.occurred_at DESC, t.id DESC LIMIT %(limit)s"
    )
    return sql, params


async def timeline_for(
    conn: PgConnection,
    customer_id: str,
    *,
    channel: str | Sequence[str] | None = None,
    kind: str | Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> tuple[str | None, TimelinePage]:
    """The canonical id for any (merged) `customer_id` and one page of its timeline, in one
    statement when the page has rows; `(None, empty page)` for an unknown customer."""
    after = decode_cursor(cursor) if cursor is not None else None
    filters: dict[str, Any] = {
        "channel": channel, "kind": kind, "since": since, "until": until, "limit": limit,
        "after": after,
    }  # fmt: skip
    rows = await fetch_all(conn, *timeline_query(customer_id, follow_merge=True, **filters))
    if rows:
        return str(rows[0].c), _page(rows, limit)
    # No rows: an unknown customer, an empty page, or an over-long merge chain.
    canonical = await survivor_of(conn, customer_id)
    if canonical is None:
        return None, TimelinePage(items=[], next_cursor=None)
    return canonical, _page(await fetch_all(conn, *timeline_query(canonical, **filters)), limit)


def _page(rows: Sequence[Any], limit: int) -> TimelinePage:
    page, more = rows[:limit], len(rows) > limit
    items = [TimelineItem.from_row(r) for r in page]
    next_cursor = encode_cursor(page[-1].occurred_at, page[-1].id) if more else None
    return TimelinePage(items=items, next_cursor=next_cursor)
