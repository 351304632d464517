"""Per-customer aggregates kept beside the timeline: channel counts, first/last seen,
latest-wins traits and survey scores."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from profile_store.domain.cx import fold_score
from profile_store.domain.traits import DEFAULT_TRAIT_RULES, TraitRules, merge_traits
from profile_store.storage.bulk import store_documents
from profile_store.write.merges import load_documents
from schemas.events import CanonicalEvent


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
            if isinstance(e.attributes.get("traits"), dict):
                traits[cid] = merge_traits(
                    traits.get(cid, {}), e.attributes["traits"], at, e.source, trait_rules
                )
            if e.kind == "survey_response":
                scores[cid] = fold_score(scores.get(cid, {}), e.attributes, at, e.event_id)
    await store_documents(conn, "traits", traits)
    await store_documents(conn, "cx", scores)
