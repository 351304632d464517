"""Per-customer aggregates kept beside the timeline: channel counts, first/last seen,
latest-wins traits and survey scores."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from profile_store.cx import fold_score
from profile_store.merge_writer import load_documents, store_documents
from profile_store.models import customer_channels, customers
from profile_store.traits import DEFAULT_TRAIT_RULES, TraitRules, merge_traits
from schemas.events import CanonicalEvent


def iso(ts: datetime) -> str:
    """Fixed-precision ISO text: stored `at` values compare correctly as strings."""
    return ts.isoformat(timespec="microseconds")


async def upsert_channel_counts(
    conn: AsyncConnection, counts: dict[tuple[str, str], list[Any]]
) -> None:
    upsert = insert(customer_channels)
    await conn.execute(
        upsert.on_conflict_do_update(
            index_elements=["customer_id", "channel"],
            set_={
                "event_count": customer_channels.c.event_count + upsert.excluded.event_count,
                "last_at": sa.func.greatest(customer_channels.c.last_at, upsert.excluded.last_at),
            },
        ),
        [
            {"customer_id": c, "channel": ch, "event_count": n, "last_at": last}
            for (c, ch), (n, last) in counts.items()
        ],
    )


async def widen_seen(conn: AsyncConnection, seen: dict[str, list[datetime]]) -> None:
    await conn.execute(
        sa.update(customers)
        .where(customers.c.customer_id == sa.bindparam("cid"))
        .values(
            first_seen=sa.func.least(customers.c.first_seen, sa.bindparam("first")),
            last_seen=sa.func.greatest(customers.c.last_seen, sa.bindparam("last")),
        ),
        [{"cid": c, "first": f, "last": last} for c, (f, last) in seen.items()],
    )


async def update_documents(
    conn: AsyncConnection,
    updates: dict[str, list[CanonicalEvent]],
    trait_rules: TraitRules = DEFAULT_TRAIT_RULES,
) -> None:
    """Fold traits and survey scores into the customers' latest-wins documents."""
    ids = set(updates)
    traits = await load_documents(conn, "traits", ids)
    scores = await load_documents(conn, "cx", ids)
    for cid, events in updates.items():
        for e in events:
            at = iso(e.occurred_at)
            if isinstance(e.attributes.get("traits"), dict):
                traits[cid] = merge_traits(
                    traits.get(cid, {}), e.attributes["traits"], at, e.source, trait_rules
                )
            if e.kind == "survey_response":
                scores[cid] = fold_score(scores.get(cid, {}), e.attributes, at, e.event_id)
    await store_documents(conn, "traits", traits)
    await store_documents(conn, "cx", scores)
