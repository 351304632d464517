"""Set-based writes: one statement per batch with array parameters, `unnest`ed server-side.

A multi-row VALUES list with thousands of bound parameters costs more to build, send and
parse than the rows themselves; a handful of arrays does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from profile_store.models import customers


def json_texts(values: Sequence[Any]) -> list[str]:
    """JSON documents as text, for a `jsonb[]` built from a `text[]` parameter."""
    return [orjson.dumps(v).decode() for v in values]


async def insert_timeline_rows(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> set[str]:
    """Insert timeline rows, skipping event ids already stored; the ids inserted."""
    if not rows:
        return set()
    result = await conn.execute(
        sa.text(
            "INSERT INTO timeline_events (event_id, customer_id, origin_customer_id, channel, "
            "kind, occurred_at, received_at, source, summary, attributes, identifiers) "
            "SELECT e, c, c, ch, k, o, r, s, su, CAST(a AS jsonb), CAST(i AS jsonb) FROM unnest("
            "CAST(:e AS text[]), CAST(:c AS text[]), CAST(:ch AS text[]), CAST(:k AS text[]), "
            "CAST(:o AS timestamptz[]), CAST(:r AS timestamptz[]), CAST(:s AS text[]), "
            "CAST(:su AS text[]), CAST(:a AS text[]), CAST(:i AS text[])) "
            "AS t(e, c, ch, k, o, r, s, su, a, i) "
            "ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
        ),
        {
            "e": [r["event_id"] for r in rows],
            "c": [r["customer_id"] for r in rows],
            "ch": [r["channel"] for r in rows],
            "k": [r["kind"] for r in rows],
            "o": [r["occurred_at"] for r in rows],
            "r": [r["received_at"] for r in rows],
            "s": [r["source"] for r in rows],
            "su": [r["summary"] for r in rows],
            "a": json_texts([r["attributes"] for r in rows]),
            "i": json_texts([r["identifiers"] for r in rows]),
        },
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
    rows = (
        sa.func.unnest(
            sa.cast(sa.literal(list(docs)), ARRAY(sa.Text)),
            sa.cast(sa.literal(json_texts(list(docs.values()))), ARRAY(sa.Text)),
        )
        .table_valued("id", "doc")
        .render_derived(name="u")
    )
    await conn.execute(
        sa.update(customers)
        .where(customers.c.customer_id == rows.c.id)
        .values({column: sa.cast(rows.c.doc, JSONB)})
    )
