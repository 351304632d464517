"""Per-customer aggregates kept beside the timeline: channel counts, first/last seen,
latest-wins traits and survey scores; folded in as events are written (`update_documents`), or
recomputed from the timelines after a re-derivation (`refresh_aggregates`)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from profile_store.domain.cx import fold_score
from profile_store.domain.traits import DEFAULT_TRAIT_RULES, TraitRules, merge_traits
from profile_store.domain.trust import sets_traits
from profile_store.storage.bulk import store_documents
from profile_store.storage.driver import driver_of
from profile_store.write.merges import load_documents
from schemas.events import CanonicalEvent

#: Trait-bearing rows fetched from the server-side cursor at a time.
FETCH_ROWS: Final = 5_000
_TRAIT_ROWS: Final = (
    "SELECT customer_id, event_id, kind, occurred_at, source, attributes, trust "
    "FROM timeline_events WHERE customer_id = ANY(%(ids)s) "
    "AND (kind = 'survey_response' OR attributes ? 'traits') ORDER BY occurred_at, event_id"
)


def iso(ts: datetime) -> str:
    """Fixed-precision ISO text: stored `at` values compare correctly as strings."""
    return ts.isoformat(timespec="microseconds")


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
            if isinstance(e.attributes.get("traits"), dict) and sets_traits(e.trust):
                traits[cid] = merge_traits(
                    traits.get(cid, {}), e.attributes["traits"], at, e.source, trait_rules
                )
            if e.kind == "survey_response":
                scores[cid] = fold_score(scores.get(cid, {}), e.attributes, at, e.event_id)
    await store_documents(conn, "traits", traits)
    await store_documents(conn, "cx", scores)


async def refresh_aggregates(
    conn: AsyncConnection, ids: Collection[str], trait_rules: TraitRules
) -> None:
    """Recompute channel counts, first/last seen, traits and scores from the timelines (the
    trait-bearing rows stream through a server-side cursor)."""
    keys = {"ids": sorted(ids)}
    await conn.execute(sa.text("DELETE FROM customer_channels WHERE customer_id = ANY(:ids)"), keys)
    await conn.execute(
        sa.text(
            "INSERT INTO customer_channels (customer_id, channel, event_count, last_at) "
            "SELECT customer_id, channel, count(*), max(occurred_at) FROM timeline_events "
            "WHERE customer_id = ANY(:ids) GROUP BY customer_id, channel"
        ),
        keys,
    )
    await conn.execute(
        sa.text(
            "UPDATE customers c SET first_seen = s.f, last_seen = s.l FROM (SELECT customer_id, "
            "min(occurred_at) f, max(occurred_at) l FROM timeline_events "
            "WHERE customer_id = ANY(:ids) GROUP BY customer_id) s "
            "WHERE c.customer_id = s.customer_id"
        ),
        keys,
    )
    traits: dict[str, dict[str, Any]] = {c: {} for c in ids}
    scores: dict[str, dict[str, Any]] = {c: {} for c in ids}
    driver = await driver_of(conn)
    async with driver.cursor(name=f"aggregates_{uuid.uuid4().hex}") as cursor:
        await cursor.execute(_TRAIT_ROWS, keys)
        while rows := await cursor.fetchmany(FETCH_ROWS):
            for cid, eid, kind, at, source, attrs, trust in rows:
                if isinstance(attrs.get("traits"), dict) and sets_traits(trust):
                    traits[cid] = merge_traits(
                        traits[cid], attrs["traits"], iso(at), source, trait_rules
                    )
                if kind == "survey_response":
                    scores[cid] = fold_score(scores[cid], attrs, iso(at), eid)
    await store_documents(conn, "traits", traits)
    await store_documents(conn, "cx", scores)
