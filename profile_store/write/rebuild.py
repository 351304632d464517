"""Persisting a re-derivation: rebuild affected customers' identity, placement and aggregates.

The affected customers' events stream out of PostgreSQL in time order (a server-side cursor,
`FETCH_EVENTS` at a time) through a `Replay` (`profile_store.domain.rederive`), merged with the
batch's own events. Memory holds the identity graph of the affected customers, never all their
events: up to `IN_MEMORY_EVENTS` the placements are kept and written after the replay; past
it the events are replayed a second time, once the clusters are named, and placed chunk by
chunk. Any closure is rebuilt, in the writer's one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from profile_store.domain.identity import Conflict, KnownCustomer, Sighting, step_key
from profile_store.domain.identity_rules import IdentityRules
from profile_store.domain.rederive import Naming, Replay, StoredEvent
from profile_store.storage.bulk import json_rows
from profile_store.storage.driver import driver_of
from profile_store.storage.tables import customers, merges
from profile_store.write.graph import load_constraints
from profile_store.write.identity_rows import insert_conflicts, insert_links, stored_identifiers
from schemas.identifiers import Identifier

RULE_REDERIVED = "rederived"
#: Rows fetched from the server-side cursor at a time.
FETCH_EVENTS: Final = 5_000
#: Up to this many events a re-derivation keeps their placements and replays once.
IN_MEMORY_EVENTS: Final = 50_000

_HISTORY: Final = (
    "SELECT event_id, occurred_at, identifiers, customer_id, origin_customer_id "
    "FROM timeline_events WHERE customer_id = ANY(%(ids)s) "
    # The order `resolve_batch` sorts in: the C collation compares code points as Python does.
    'ORDER BY occurred_at, event_id COLLATE "C"'
)


@dataclass(frozen=True)
class Affected:
    """The customers a re-derivation rebuilds (`canonical`), with those merged into them:
    every existing id with its creation time, and where the merged-away ones point."""

    canonical: frozenset[str]
    existing: dict[str, datetime]
    merged_into: dict[str, str]


@dataclass(frozen=True)
class Rebuilt:
    """What a rebuild stored: customers kept, created and retired (to the customer they now
    resolve to), where each of the batch's own events belongs, and how many conflicts."""

    kept: frozenset[str]
    created: tuple[KnownCustomer, ...]
    retired: dict[str, str]
    assignments: dict[str, str]
    conflicts: int

    @property
    def final(self) -> set[str]:
        """The canonical customers after the rebuild."""
        return set(self.kept) | {c.customer_id for c in self.created}


async def load_affected(conn: AsyncConnection, closure: Collection[str]) -> Affected:
    """The closure's customers and those merged into them."""
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
    return Affected(frozenset(closure), existing, merged_into)


async def rebuild(
    conn: AsyncConnection,
    affected: Affected,
    extra: Sequence[Sighting],
    rules: IdentityRules,
    new_customer: Callable[[], KnownCustomer],
    cause: str,
    now: datetime,
) -> Rebuilt:
    """Re-derive the affected customers with `extra` (a batch's new events, and new revisions
    of stored ones, which keep their place) included, and store the result. Timeline rows of
    new events are the caller's to insert afterwards, with `Rebuilt.assignments`."""
    extras = await _with_places(conn, affected.canonical, extra)
    idents = {i for s in extra for i in s.identifiers}
    constraints, _ = await load_constraints(conn, affected.canonical, idents, with_events=True)
    replay = Replay(rules, constraints)
    kept: list[tuple[StoredEvent, str]] | None = []
    conflicts: list[Conflict] = []
    async for chunk in _history(conn, affected.canonical, extras):
        clusters = [cluster for _, cluster in replay.feed(chunk)]
        found = replay.conflicts()
        if kept is not None:
            kept += zip(chunk, clusters, strict=True)
            conflicts += found
            if len(kept) > IN_MEMORY_EVENTS:  # replayed again below, once the clusters are named
                kept, conflicts = None, []
    naming = replay.finish(affected.existing, affected.merged_into, new_customer)
    await _store_customers(conn, naming)
    await _store_links(conn, affected, naming, now)
    await _record_merges(conn, affected, naming, cause)
    ids = {s.event_id for s in extra}
    if kept is not None:
        assignments, refused = await _place(conn, naming, kept, conflicts, ids)
    else:
        assignments, refused, again = {}, 0, Replay(rules, constraints)
        async for chunk in _history(conn, affected.canonical, extras):
            placed = list(zip(chunk, [c for _, c in again.feed(chunk)], strict=True))
            ours, n = await _place(conn, naming, placed, again.conflicts(), ids)
            assignments.update(ours)
            refused += n
    out = Rebuilt(naming.kept, naming.created, dict(naming.retired), assignments, refused)
    stale = {"ids": sorted(set(affected.existing) - out.final)}
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


async def _with_places(
    conn: AsyncConnection, closure: Collection[str], extra: Sequence[Sighting]
) -> list[StoredEvent]:
    """The batch's events, in time order, with where one stored on the closure (a new
    revision) is now and first landed."""
    rows = await conn.execute(
        sa.text(
            "SELECT event_id, customer_id, origin_customer_id FROM timeline_events "
            "WHERE event_id = ANY(:eids) AND customer_id = ANY(:ids)"
        ),
        {"eids": [s.event_id for s in extra], "ids": sorted(closure)},
    )
    held = {eid: (cid, origin) for eid, cid, origin in rows}
    return sorted(
        (StoredEvent(s, *held.get(s.event_id, (None, None))) for s in extra),
        key=lambda e: step_key(e.sighting),
    )


async def _history(
    conn: AsyncConnection, closure: Collection[str], extras: list[StoredEvent]
) -> AsyncIterator[list[StoredEvent]]:
    """The closure's stored events in time order, in chunks, with `extras` (in time order)
    merged in; a stored event `extras` replaces is left out."""
    replaced = {e.sighting.event_id for e in extras}
    pending = list(reversed(extras))
    made: dict[tuple[str, str], Identifier] = {}
    driver = await driver_of(conn)  # shares the writer's transaction
    async with driver.cursor(name=f"rederive_{uuid.uuid4().hex}") as cursor:
        await cursor.execute(_HISTORY, {"ids": sorted(closure)})
        while rows := await cursor.fetchmany(FETCH_EVENTS):
            chunk: list[StoredEvent] = []
            for eid, at, carried, cid, origin in rows:
                if eid in replaced:
                    continue
                stored = StoredEvent(
                    Sighting(eid, at, stored_identifiers(carried, made)), cid, origin
                )
                while pending and step_key(pending[-1].sighting) < step_key(stored.sighting):
                    chunk.append(pending.pop())
                chunk.append(stored)
            yield chunk
    if pending:
        yield list(reversed(pending))


async def _store_customers(conn: AsyncConnection, naming: Naming) -> None:
    """New customers, restored ones (no longer merged away), and the retired ones."""
    if naming.created:
        await conn.execute(
            insert(customers),
            [{"customer_id": c.customer_id, "created_at": c.created_at} for c in naming.created],
        )
    await conn.execute(
        sa.update(customers)
        .where(customers.c.customer_id.in_(naming.kept))
        .values(merged_into=None)
    )
    if naming.retired:
        await conn.execute(
            sa.update(customers)
            .where(customers.c.customer_id == sa.bindparam("cid"))
            .values(merged_into=sa.bindparam("into"), traits={}, cx={}),
            [{"cid": c, "into": t} for c, t in naming.retired.items()],
        )


async def _store_links(
    conn: AsyncConnection, affected: Affected, naming: Naming, now: datetime
) -> None:
    """The affected customers' identifiers replaced by the replay's links (first seen kept)."""
    old = await conn.execute(
        sa.text(
            "DELETE FROM identifiers WHERE customer_id = ANY(:ids) "
            "RETURNING id_type, id_value, first_seen"
        ),
        {"ids": sorted(affected.existing)},
    )
    first_seen = {(t, v): f for t, v, f in old}
    await insert_links(conn, naming.links, now, first_seen)


async def _place(
    conn: AsyncConnection,
    naming: Naming,
    placed: Sequence[tuple[StoredEvent, str]],
    conflicts: Sequence[Conflict],
    ours: Collection[str],
) -> tuple[dict[str, str], int]:
    """Move stored events to their customer, replace their conflicts; where the batch's own
    events (`ours`) belong, and how many conflicts were recorded."""
    moved, assignments = [], {}
    for e, cluster in placed:
        final = naming.of(cluster)
        if e.customer_id is not None and e.customer_id != final:
            moved.append({"e": e.sighting.event_id, "c": final})
        if e.sighting.event_id in ours:
            assignments[e.sighting.event_id] = final
    if moved:
        await conn.execute(
            sa.text(
                "UPDATE timeline_events t SET customer_id = m.c "
                "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS m(e text, c text) "
                "WHERE t.event_id = m.e"
            ),
            {"rows": json_rows(moved)},
        )
    await conn.execute(
        sa.text("DELETE FROM identity_conflicts WHERE event_id = ANY(:eids)"),
        {"eids": [e.sighting.event_id for e, _ in placed]},
    )
    await insert_conflicts(conn, [naming.conflict(c) for c in conflicts])
    return assignments, len(conflicts)


async def _record_merges(
    conn: AsyncConnection, affected: Affected, naming: Naming, cause: str
) -> None:
    """Lineage: restored customers lose their merge records; newly retired ones gain one."""
    restored = sorted(naming.kept & set(affected.merged_into))
    if restored:
        await conn.execute(sa.delete(merges).where(merges.c.merged_id.in_(restored)))
    fresh = {c: t for c, t in naming.retired.items() if c not in affected.merged_into}
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
