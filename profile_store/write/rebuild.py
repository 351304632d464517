"""Persisting a re-derivation: rebuild affected customers' identity, placement and aggregates."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from profile_store.domain.cx import fold_score
from profile_store.domain.identity import KnownCustomer, Sighting
from profile_store.domain.identity_rules import IdentityRules
from profile_store.domain.rederive import Rederivation, StoredEvent, rederive
from profile_store.domain.traits import TraitRules, merge_traits
from profile_store.storage.bulk import store_documents
from profile_store.storage.tables import customers, merges
from profile_store.write.aggregates import iso
from profile_store.write.graph import load_constraints
from profile_store.write.identity_rows import insert_conflicts, insert_links, stored_identifiers
from schemas.identifiers import Identifier

RULE_REDERIVED = "rederived"


@dataclass(frozen=True)
class Affected:
    """The customers a re-derivation rebuilds and their stored events."""

    canonical: set[str]
    existing: dict[str, datetime]
    merged_into: dict[str, str]
    events: list[StoredEvent]


async def load_affected(conn: AsyncConnection, closure: Collection[str]) -> Affected:
    """The closure's customers, those merged into them, and every event they hold."""
    rows = await conn.execute(
        sa.text(
            "SELECT customer_id, created_at, merged_into FROM customers "
            "WHERE customer_id = ANY(:ids) OR merged_into = ANY(:ids)"
        ),
        {"ids": sorted(closure)},
    )
    existing: dict[str, datetime] = {}
    merged_into: dict[str, str] = {}
    for cid, at, into in rows:
        existing[cid] = at
        if into is not None:
            merged_into[cid] = into
    result = await conn.execute(
        sa.text(
            "SELECT event_id, occurred_at, identifiers, customer_id, origin_customer_id "
            "FROM timeline_events WHERE customer_id = ANY(:ids)"
        ),
        {"ids": sorted(closure)},
    )
    made: dict[tuple[str, str], Identifier] = {}
    events = [
        StoredEvent(Sighting(eid, at, stored_identifiers(ids, made)), cid, origin)
        for eid, at, ids, cid, origin in result
    ]
    return Affected(set(closure), existing, merged_into, events)


async def rebuild(
    conn: AsyncConnection,
    affected: Affected,
    extra: Sequence[Sighting],
    rules: IdentityRules,
    new_customer: Callable[[], KnownCustomer],
    cause: str,
    now: datetime,
) -> Rederivation:
    """Re-derive the affected customers with `extra` (a batch's new events) included, and
    store the result. Timeline rows of `extra` are the caller's to insert afterwards."""
    stored = {e.sighting.event_id: e for e in affected.events}
    replaced = {s.event_id for s in extra}
    events = [e for e in affected.events if e.sighting.event_id not in replaced]
    for s in extra:  # new events, and new revisions of stored ones (which keep their place)
        held = stored.get(s.event_id)
        events.append(
            StoredEvent(s, held.customer_id, held.origin_id) if held else StoredEvent(s, None, None)
        )
    idents = {i for e in events for i in e.sighting.identifiers}
    constraints, _ = await load_constraints(conn, affected.canonical, idents)
    out = rederive(
        events, affected.existing, affected.merged_into, rules, constraints, new_customer
    )
    if out.created:
        await conn.execute(
            insert(customers),
            [{"customer_id": c.customer_id, "created_at": c.created_at} for c in out.created],
        )
    final = out.kept | {c.customer_id for c in out.created}
    await conn.execute(
        sa.update(customers).where(customers.c.customer_id.in_(out.kept)).values(merged_into=None)
    )
    if out.retired:
        await conn.execute(
            sa.update(customers)
            .where(customers.c.customer_id == sa.bindparam("cid"))
            .values(merged_into=sa.bindparam("into"), traits={}, cx={}),
            [{"cid": c, "into": t} for c, t in out.retired.items()],
        )
    await _store_identity(conn, affected, out, now)
    await _record_merges(conn, affected, out, cause)
    moved = [
        {"eid": e.sighting.event_id, "cid": out.assignments[e.sighting.event_id]}
        for e in events
        if e.customer_id is not None and e.customer_id != out.assignments[e.sighting.event_id]
    ]
    if moved:
        await conn.execute(
            sa.text("UPDATE timeline_events SET customer_id = :cid WHERE event_id = :eid"), moved
        )
    stale = {"ids": sorted(set(affected.existing) - final)}
    await conn.execute(
        sa.text("DELETE FROM customer_channels WHERE customer_id = ANY(:ids)"), stale
    )
    await conn.execute(
        sa.text(
            "UPDATE customers SET first_seen = NULL, last_seen = NULL WHERE customer_id = ANY(:ids)"
        ),
        stale,
    )
    return out


async def refresh_aggregates(
    conn: AsyncConnection, ids: Collection[str], trait_rules: TraitRules
) -> None:
    """Recompute channel counts, first/last seen, traits and scores from the timelines."""
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
    rows = await conn.execute(
        sa.text(
            "SELECT customer_id, event_id, kind, occurred_at, source, attributes "
            "FROM timeline_events WHERE customer_id = ANY(:ids) "
            "AND (kind = 'survey_response' OR attributes ? 'traits') ORDER BY occurred_at, event_id"
        ),
        keys,
    )
    traits: dict[str, dict[str, Any]] = {c: {} for c in ids}
    scores: dict[str, dict[str, Any]] = {c: {} for c in ids}
    for cid, eid, kind, at, source, attrs in rows:
        if isinstance(attrs.get("traits"), dict):
            traits[cid] = merge_traits(traits[cid], attrs["traits"], iso(at), source, trait_rules)
        if kind == "survey_response":
            scores[cid] = fold_score(scores[cid], attrs, iso(at), eid)
    await store_documents(conn, "traits", traits)
    await store_documents(conn, "cx", scores)


async def _store_identity(
    conn: AsyncConnection, affected: Affected, out: Rederivation, now: datetime
) -> None:
    everyone = sorted(set(affected.existing))
    old = await conn.execute(
        sa.text(
            "DELETE FROM identifiers WHERE customer_id = ANY(:ids) "
            "RETURNING id_type, id_value, first_seen"
        ),
        {"ids": everyone},
    )
    first_seen = {(t, v): f for t, v, f in old}
    await insert_links(conn, out.links, now, first_seen)
    await conn.execute(
        sa.text("DELETE FROM identity_conflicts WHERE event_id = ANY(:eids)"),
        {"eids": sorted(out.assignments)},
    )
    await insert_conflicts(conn, out.conflicts)


async def _record_merges(
    conn: AsyncConnection, affected: Affected, out: Rederivation, cause: str
) -> None:
    """Lineage: restored customers lose their merge records; newly retired ones gain one."""
    restored = sorted(out.kept & set(affected.merged_into))
    if restored:
        await conn.execute(sa.delete(merges).where(merges.c.merged_id.in_(restored)))
    fresh = {c: t for c, t in out.retired.items() if c not in affected.merged_into}
    if fresh:
        await conn.execute(
            insert(merges),
            [
                {
                    "merged_id": c,
                    "survivor_id": t,
                    "event_id": cause,
                    "rule": RULE_REDERIVED,
                    "identifiers": [],
                }
                for c, t in fresh.items()
            ],
        )
