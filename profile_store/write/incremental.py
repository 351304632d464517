"""Applying an incremental identity resolution: new customers, merges, links, conflicts, and
the aggregates (channel counts, first/last seen, traits) of the rows written."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from profile_store.domain.identity import Resolution
from profile_store.domain.traits import TraitRules
from profile_store.domain.trust import sets_traits
from profile_store.storage.bulk import upsert_channel_counts, widen_seen
from profile_store.storage.tables import customers
from profile_store.write.aggregates import update_documents
from profile_store.write.identity_rows import insert_conflicts, insert_links
from profile_store.write.merges import apply_merges
from schemas.events import CanonicalEvent


async def apply_identity(
    conn: AsyncConnection, res: Resolution, now: datetime, trait_rules: TraitRules
) -> None:
    """New customers, merges, links and conflicts of an incremental resolution."""
    if res.new_customers:
        await conn.execute(
            insert(customers),
            [{"customer_id": c.customer_id, "created_at": c.created_at} for c in res.new_customers],
        )
    if res.merges:
        await apply_merges(conn, res, trait_rules)
    await insert_links(conn, res.links, now)
    await insert_conflicts(conn, res.conflicts)


async def update_aggregates(
    conn: AsyncConnection,
    inserted: Sequence[CanonicalEvent],
    touched: Sequence[CanonicalEvent],
    res: Resolution,
    trait_rules: TraitRules,
) -> None:
    """Channel counts from new rows; first/last seen, traits and cx from every row written."""
    counts: dict[tuple[str, str], list[Any]] = {}
    for e in inserted:
        stat = counts.setdefault((res.assignments[e.event_id], e.channel.value), [0, e.occurred_at])
        stat[0] += 1
        stat[1] = max(stat[1], e.occurred_at)
    seen: dict[str, list[datetime]] = {}
    by_customer: dict[str, list[CanonicalEvent]] = defaultdict(list)
    for e in touched:
        cid = res.assignments[e.event_id]
        span = seen.setdefault(cid, [e.occurred_at, e.occurred_at])
        span[0], span[1] = min(span[0], e.occurred_at), max(span[1], e.occurred_at)
        if e.kind == "survey_response" or (e.attributes.get("traits") and sets_traits(e.trust)):
            by_customer[cid].append(e)
    if counts:
        await upsert_channel_counts(conn, counts)
    if seen:
        await widen_seen(conn, seen)
    if by_customer:
        await update_documents(conn, by_customer, trait_rules)
