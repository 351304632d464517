"""Persisting merges: move a merged customer's rows to its survivor and record why."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from profile_store.domain.identity import Resolution
from profile_store.domain.traits import DEFAULT_TRAIT_RULES, TraitRules, combine_stored
from profile_store.storage.bulk import store_documents
from profile_store.storage.tables import (
    customer_channels,
    customers,
    identifiers,
    identity_conflicts,
    merges,
    timeline_events,
)

#: Per-customer JSON documents whose entries carry an "at" and merge latest-wins.
LATEST_WINS_COLUMNS = ("traits", "cx")


async def load_documents(
    conn: AsyncConnection, column: str, ids: set[str]
) -> dict[str, dict[str, Any]]:
    """`{customer_id: document}` of a latest-wins JSON column."""
    col = customers.c[column]
    result = await conn.execute(
        sa.select(customers.c.customer_id, col).where(customers.c.customer_id.in_(ids))
    )
    return {cid: dict(doc or {}) for cid, doc in result}


async def apply_merges(
    conn: AsyncConnection, res: Resolution, trait_rules: TraitRules = DEFAULT_TRAIT_RULES
) -> None:
    """Move everything of each merged customer to its survivor, and record why."""
    pairs = [(m.merged_id, m.survivor_id) for m in res.merges]
    mapping = (
        sa.func.unnest(
            sa.cast(sa.literal([a for a, _ in pairs]), ARRAY(sa.Text)),
            sa.cast(sa.literal([b for _, b in pairs]), ARRAY(sa.Text)),
        )
        .table_valued("loser", "survivor")
        .render_derived(name="mapping")
    )
    for table in (identifiers, identity_conflicts, timeline_events):
        await conn.execute(
            sa.update(table)
            .where(table.c.customer_id == mapping.c.loser)
            .values(customer_id=mapping.c.survivor)
        )
    await conn.execute(
        sa.update(customers)
        .where(
            sa.or_(
                customers.c.customer_id == mapping.c.loser,
                customers.c.merged_into == mapping.c.loser,
            )
        )
        .values(merged_into=mapping.c.survivor)
    )
    merged_stats = (
        sa.select(
            mapping.c.survivor.label("customer_id"),
            customer_channels.c.channel,
            sa.func.sum(customer_channels.c.event_count).label("event_count"),
            sa.func.max(customer_channels.c.last_at).label("last_at"),
        )
        .join(mapping, customer_channels.c.customer_id == mapping.c.loser)
        .group_by(mapping.c.survivor, customer_channels.c.channel)
    )
    upsert = insert(customer_channels).from_select(
        ["customer_id", "channel", "event_count", "last_at"], merged_stats
    )
    await conn.execute(
        upsert.on_conflict_do_update(
            index_elements=["customer_id", "channel"],
            set_={
                "event_count": customer_channels.c.event_count + upsert.excluded.event_count,
                "last_at": sa.func.greatest(customer_channels.c.last_at, upsert.excluded.last_at),
            },
        )
    )
    losers = [a for a, _ in pairs]
    await conn.execute(
        sa.delete(customer_channels).where(customer_channels.c.customer_id.in_(losers))
    )
    everyone = set(losers) | {b for _, b in pairs}
    spans = await conn.execute(
        sa.select(customers.c.customer_id, customers.c.first_seen, customers.c.last_seen).where(
            customers.c.customer_id.in_(everyone)
        )
    )
    span = {cid: (f, last) for cid, f, last in spans}
    for column in LATEST_WINS_COLUMNS:
        docs = await load_documents(conn, column, everyone)
        for loser, survivor in pairs:
            docs[survivor] = combine_stored(
                docs.get(survivor, {}), docs.get(loser, {}), trait_rules
            )
            docs[loser] = {}
        await store_documents(conn, column, docs)
    for loser, survivor in pairs:
        lf, ll = span.get(loser, (None, None))
        sf, sl = span.get(survivor, (None, None))
        firsts = [t for t in (lf, sf) if t is not None]
        lasts = [t for t in (ll, sl) if t is not None]
        span[survivor] = (min(firsts) if firsts else None, max(lasts) if lasts else None)
    await conn.execute(
        sa.update(customers)
        .where(customers.c.customer_id == sa.bindparam("cid"))
        .values(first_seen=sa.bindparam("first"), last_seen=sa.bindparam("last")),
        [{"cid": s, "first": span[s][0], "last": span[s][1]} for s in {b for _, b in pairs}],
    )
    await conn.execute(
        insert(merges),
        [
            {
                "merged_id": m.merged_id,
                "survivor_id": m.survivor_id,
                "event_id": m.event_id,
                "rule": m.rule,
                "identifiers": [{"type": i.type, "value": i.value} for i in m.identifiers],
            }
            for m in res.merges
        ],
    )
