"""Async read queries for the unified view: customer resolution, profiles, timeline cursors.

Every statement has bound parameters and is served by an index: customers by primary key or
the partial `merged_into` index, identifiers by primary key or `customer_id`, channel stats by
primary key; timeline pages are in `timeline_read`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, Final

import orjson
import psycopg
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from profile_store import ProfileStoreError
from profile_store.driver import PgConnection, driver_of, fetch_all
from profile_store.models import customers, timeline_events
from profile_store.profile_read import MAX_MERGE_HOPS, profile_by_id, profile_by_identifier
from profile_store.read_models import Profile
from schemas.identifiers import ORDER_ID, ORDER_SCOPE_SEPARATOR

DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 200
MAX_FILTER_VALUES: Final = 32
MAX_CURSOR_LENGTH: Final = 200
_CURSOR_PATTERN: Final = re.compile(r"^[A-Za-z0-9_-]+$")
_MAX_ROW_ID: Final = 2**63 - 1
_AFTER_SEPARATOR: Final = chr(ord(ORDER_SCOPE_SEPARATOR) + 1)
_MALFORMED: Final = "cursor is malformed: pass back a next_cursor value unchanged"

Db = AsyncEngine | AsyncConnection
#: What a timeline item is read from (plus `id`, the keyset tie-breaker).
TIMELINE_COLUMNS: Final = (
    timeline_events.c.id,
    timeline_events.c.event_id,
    timeline_events.c.channel,
    timeline_events.c.kind,
    timeline_events.c.occurred_at,
    timeline_events.c.received_at,
    timeline_events.c.source,
    timeline_events.c.summary,
    timeline_events.c.attributes,
)


class QueryError(ProfileStoreError):
    """Base class for errors raised by the read queries."""


class InvalidCursor(QueryError):
    """A pagination cursor that this module did not produce (or that was altered)."""


class InvalidQuery(QueryError):
    """A query argument out of range: limit, naive datetimes, too many filter values."""


class AmbiguousIdentifier(QueryError):
    """An identifier typed without its scope matches customers in more than one scope
    (order 1001 of two shops): the caller must say which."""


class MergeChainBroken(QueryError):
    """`merged_into` links form a cycle or an over-long chain: the stored data is inconsistent."""


@asynccontextmanager
async def use_connection(db: Db) -> AsyncIterator[AsyncConnection]:
    """Use the given connection, or check one out of the engine for the duration."""
    if isinstance(db, AsyncConnection):
        yield db
        return
    async with db.connect() as conn:
        yield conn


# --- cursors -------------------------------------------------------------------------------


def encode_cursor(occurred_at: datetime, row_id: int) -> str:
    """Opaque keyset cursor: url-safe base64 (unpadded) of orjson `[occurred_at iso, id]`."""
    raw = orjson.dumps([occurred_at.astimezone(UTC).isoformat(), row_id])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The `(occurred_at, id)` position a cursor names, or raise `InvalidCursor`."""
    if not cursor or len(cursor) > MAX_CURSOR_LENGTH or not _CURSOR_PATTERN.match(cursor):
        raise InvalidCursor(_MALFORMED)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = orjson.loads(raw)
    except (binascii.Error, ValueError):
        raise InvalidCursor(_MALFORMED) from None
    if not (isinstance(data, list) and len(data) == 2 and isinstance(data[0], str)):
        raise InvalidCursor("cursor does not name a timeline position")
    row_id = data[1]
    if isinstance(row_id, bool) or not isinstance(row_id, int) or not 0 < row_id <= _MAX_ROW_ID:
        raise InvalidCursor("cursor does not name a timeline position")
    try:
        occurred_at = datetime.fromisoformat(data[0])
    except ValueError:
        raise InvalidCursor("cursor does not name a timeline position") from None
    if occurred_at.tzinfo is None:
        raise InvalidCursor("cursor does not name a timeline position")
    return occurred_at, row_id


# --- customers -----------------------------------------------------------------------------


async def _resolve(conn: AsyncConnection, customer_id: str) -> Any | None:
    """The canonical customer's row (id, first/last seen, traits, cx), or None."""
    current = customer_id
    for _ in range(MAX_MERGE_HOPS):
        stmt = select(
            customers.c.customer_id,
            customers.c.merged_into,
            customers.c.first_seen,
            customers.c.last_seen,
            customers.c.traits,
            customers.c.cx,
        ).where(customers.c.customer_id == current)
        row = (await conn.execute(stmt)).first()
        if row is None:
            return None
        if row.merged_into is None:
            return row
        current = row.merged_into
    raise MergeChainBroken(f"merge chain from a customer is longer than {MAX_MERGE_HOPS} hops")


async def resolve_customer_id(db: Db, customer_id: str) -> str | None:
    """The canonical id for `customer_id` (itself unless merged away); None if unknown."""
    async with use_connection(db) as conn:
        row = await _resolve(conn, customer_id)
    return None if row is None else str(row.customer_id)


@asynccontextmanager
async def on_driver(db: Db | PgConnection) -> AsyncIterator[PgConnection]:
    """A psycopg connection: `db` itself, or the one under a SQLAlchemy connection (sharing
    its transaction), or one checked out of the engine for the duration."""
    if isinstance(db, psycopg.AsyncConnection):
        yield db
        return
    async with use_connection(db) as conn:
        yield await driver_of(conn)


async def load_profile(
    db: Db | PgConnection, customer_id: str, now: datetime | None = None
) -> Profile | None:
    """The unified profile of `customer_id` (following merges to the survivor), or None;
    its summary counts recent contacts as of `now` (default: the current time)."""
    async with on_driver(db) as conn:
        return await profile_by_id(conn, customer_id, now or datetime.now(UTC))


#: Owners of an order number stored with its shop (`1001@acme.myshopify.com`), found by the
#: `lower(id_value) text_pattern_ops` index: `low` is `1001@`, `high` the next prefix.
_SCOPED_ORDER_OWNERS: Final = (
    "SELECT DISTINCT coalesce(c.merged_into, c.customer_id) AS customer_id "
    "FROM identifiers i JOIN customers c ON c.customer_id = i.customer_id "
    "WHERE i.id_type = %(id_type)s AND lower(i.id_value) ~>=~ %(low)s "
    "AND lower(i.id_value) ~<~ %(high)s LIMIT 3"
)


async def find_profile(
    db: Db | PgConnection, id_type: str, value: str, now: datetime | None = None
) -> Profile | None:
    """The profile of whoever holds an already-normalised identifier, or None.

    An order number typed without its shop (`1001`) also finds the order stored with one
    (`1001@acme.myshopify.com`); when two shops' customers hold it, `AmbiguousIdentifier`.
    """
    at = now or datetime.now(UTC)
    async with on_driver(db) as conn:
        profile = await profile_by_identifier(conn, id_type, value, at)
        if profile is not None or id_type != ORDER_ID or ORDER_SCOPE_SEPARATOR in value:
            return profile
        prefix = value.lower() + ORDER_SCOPE_SEPARATOR
        params = {"id_type": id_type, "low": prefix, "high": prefix[:-1] + _AFTER_SEPARATOR}
        owners = {row.customer_id for row in await fetch_all(conn, _SCOPED_ORDER_OWNERS, params)}
        if len(owners) > 1:
            raise AmbiguousIdentifier(
                f"order {value} is held by customers of {len(owners)} shops: "
                f"type it with the shop (like {value}{ORDER_SCOPE_SEPARATOR}shop.myshopify.com) "
                "or use search"
            )
        return await profile_by_id(conn, owners.pop(), at) if owners else None
