"""Set-based writes: one statement per batch, its rows in array or JSON parameters.

A multi-row VALUES list with thousands of bound parameters costs more to build, send and
parse than the rows themselves; a handful of arrays does not. Rows holding JSON travel as
one orjson document instead, unpacked server-side.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from profile_store.storage.tables import customers


def any_of(column: sa.ColumnElement[str], values: Iterable[str]) -> sa.ColumnElement[bool]:
    """`column = ANY(:values)` with one text-array parameter: `column.in_(values)` renders
    a placeholder per value, which the driver then parses and dumps one by one."""
    return column == sa.any_(sa.literal(list(values), ARRAY(sa.Text)))


def json_rows(rows: Iterable[dict[str, Any]]) -> str:
    """Rows as one JSON array, for `jsonb_to_recordset(CAST(:rows AS jsonb))`: the driver
    dumps a text array element by element in Python, escaping quotes and spaces by regex."""
    return orjson.dumps(list(rows)).decode()


async def insert_timeline_rows(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> set[str]:
    """Insert timeline rows, skipping event ids already stored; the ids inserted.

    The rows travel as one JSON document (`json_rows`).
    """
    if not rows:
        return set()
    result = await conn.execute(
        sa.text(
            "INSERT INTO timeline_events (event_id, customer_id, origin_customer_id, channel, "
            "kind, occurred_at, received_at, source, summary, attributes, identifiers, trust, "
            "claims) "
            "SELECT event_id, customer_id, customer_id, channel, kind, occurred_at, received_at, "
            "source, summary, attributes, identifiers, trust, claims "
            "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS t(event_id text, customer_id text, "
            "channel text, kind text, occurred_at timestamptz, received_at timestamptz, "
            "source text, summary text, attributes jsonb, identifiers jsonb, trust text, "
            "claims jsonb) "
            "ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
        ),
        {"rows": json_rows(rows)},
    )
    return set(result.scalars())


async def widen_seen(conn: AsyncConnection, seen: dict[str, list[datetime]]) -> None:
    """Stretch each customer's first/last seen to cover the given span."""
    await conn.execute(
        sa.text(
            "UPDATE customers c SET first_seen = LEAST(c.first_seen, u.f), "
            "last_seen = GREATEST(c.last_seen, u.l) FROM unnest(CAST(:ids AS text[]), "
            "CAST(:f AS timestamptz[]), CAST(:l AS timestamptz[])) AS u(id, f, l) "
            "WHERE c.customer_id = u.id"
        ),
        {
            "ids": list(seen),
            "f": [span[0] for span in seen.values()],
            "l": [span[1] for span in seen.values()],
        },
    )


async def upsert_channel_counts(
    conn: AsyncConnection, counts: dict[tuple[str, str], list[Any]]
) -> None:
    """Add event counts per (customer, channel) and keep the latest contact time."""
    await conn.execute(
        sa.text(
            "INSERT INTO customer_channels (customer_id, channel, event_count, last_at) "
            "SELECT * FROM unnest(CAST(:c AS text[]), CAST(:ch AS text[]), "
            "CAST(:n AS bigint[]), CAST(:l AS timestamptz[])) "
            "ON CONFLICT (customer_id, channel) DO UPDATE SET "
            "event_count = customer_channels.event_count + excluded.event_count, "
            "last_at = GREATEST(customer_channels.last_at, excluded.last_at)"
        ),
        {
            "c": [c for c, _ in counts],
            "ch": [ch for _, ch in counts],
            "n": [n for n, _ in counts.values()],
            "l": [last for _, last in counts.values()],
        },
    )


async def store_documents(
    conn: AsyncConnection, column: str, docs: dict[str, dict[str, Any]]
) -> None:
    """Write back a JSON document column for several customers in one statement."""
    if not docs:
        return
    # One JSON object {customer_id: document}: arrays of JSON texts are escaped element by
    # element in Python by the driver.
    rows = (
        sa.func.jsonb_each(sa.cast(sa.literal(orjson.dumps(docs).decode()), JSONB))
        .table_valued("key", "value")
        .render_derived(name="u")
    )
    await conn.execute(
        sa.update(customers)
        .where(customers.c.customer_id == rows.c.key)
        .values({column: rows.c.value})
    )
