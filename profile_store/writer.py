"""Batch writer: stitches a batch of canonical events and appends them to timelines, idempotently.

One transaction per batch, under per-customer and per-identifier locks (`profile_store.locks`),
so workers on different partitions write in parallel and agree on every merge. The identity
rules live in `profile_store.identity`; this module loads the part of the graph the batch
touches, and either applies the batch incrementally or, when events arrived too late for
that to be right, re-derives the affected customers in time order (`profile_store.rederive`).
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from profile_store import ProfileStoreError
from profile_store.aggregates import update_documents
from profile_store.bulk import any_of, insert_timeline_rows, upsert_channel_counts, widen_seen
from profile_store.graph_store import (
    Scope,
    load_constraints,
    load_customers,
    load_scope,
)
from profile_store.identity import KnownCustomer, Resolution, Sighting, resolve_batch
from profile_store.identity_rows import insert_conflicts, insert_links, stored_identifiers
from profile_store.identity_rules import DEFAULT_RULES, IdentityRules
from profile_store.locks import acquire, release_all, release_connection
from profile_store.merge_writer import apply_merges
from profile_store.models import customers, timeline_events
from profile_store.rederive_store import load_affected, rebuild, refresh_aggregates
from profile_store.traits import DEFAULT_TRAIT_RULES, TraitRules
from schemas.events import REVISION_KEY, CanonicalEvent, utc_now
from schemas.identifiers import Identifier

log = logging.getLogger(__name__)

#: Rounds of "lock, re-read, need more" before giving up on a batch as busy (transient).
MAX_LOCK_ROUNDS = 50
#: Larger batches are written as several transactions of at most this many events (in time
#: order), which bounds the advisory locks one transaction holds (see the README on
#: `max_locks_per_transaction`).
MAX_EVENTS_PER_TRANSACTION = 1000

#: Decides, inside the batch's locked transaction, which new events must not be written
#: (an erased person's tombstone, say): returns their event ids.
EventFilter = Callable[[AsyncConnection, Sequence[CanonicalEvent]], Awaitable[set[str]]]


class WriterError(ProfileStoreError):
    """Base class of the writer's own errors."""


class IdentityBusy(WriterError):
    """The customers a batch touches kept changing under it; retry the batch."""


def new_customer_id() -> str:
    """A fresh, opaque customer id."""
    return f"cus_{uuid.uuid4().hex}"


@dataclass(frozen=True)
class WriteResult:
    """What one batch changed."""

    written_ids: frozenset[str]
    duplicates: int
    new_customers: int
    merges: int
    revised: int = 0
    conflicts: int = 0
    #: Customers rebuilt because events arrived too late to apply incrementally.
    rederived: int = 0
    erased: int = 0

    @property
    def written(self) -> int:
        """How many timeline rows the batch added."""
        return len(self.written_ids)


@dataclass
class _Batch:
    fresh: list[CanonicalEvent]
    revised: list[CanonicalEvent]
    sightings: list[Sighting]
    scope: Scope


class TimelineWriter:
    """Writes batches of canonical events: identity links and merges, timeline rows, aggregates."""

    def __init__(
        self,
        engine: AsyncEngine,
        rules: IdentityRules = DEFAULT_RULES,
        make_id: Callable[[], str] = new_customer_id,
        clock: Callable[[], datetime] = utc_now,
        trait_rules: TraitRules = DEFAULT_TRAIT_RULES,
        exclude: EventFilter | None = None,
    ) -> None:
        self.engine, self.rules, self.make_id, self.clock = engine, rules, make_id, clock
        self.trait_rules, self.exclude = trait_rules, exclude

    async def write(self, events: Sequence[CanonicalEvent]) -> WriteResult:
        """Write a batch in one transaction; events already stored are skipped (idempotent),
        unless they carry a newer revision, which replaces the stored timeline item."""
        if len(events) <= MAX_EVENTS_PER_TRANSACTION:
            return await self._write_one(events)
        ordered = sorted(events, key=lambda e: (e.occurred_at, e.event_id))
        size = MAX_EVENTS_PER_TRANSACTION
        parts = [await self._write_one(ordered[i : i + size]) for i in range(0, len(ordered), size)]
        return WriteResult(
            written_ids=frozenset().union(*(p.written_ids for p in parts)),
            **{
                name: sum(getattr(p, name) for p in parts)
                for name in (
                    "duplicates",
                    "new_customers",
                    "merges",
                    "revised",
                    "conflicts",
                    "rederived",
                    "erased",
                )
            },
        )

    async def _write_one(self, events: Sequence[CanonicalEvent]) -> WriteResult:
        unique = _newest_per_event_id(events)
        async with self.engine.connect() as conn:
            try:
                result = await self._write(conn, unique, len(events))
                await conn.commit()
                return result
            finally:
                await release_connection(conn)

    async def _write(
        self, conn: AsyncConnection, unique: list[CanonicalEvent], total: int
    ) -> WriteResult:
        batch = await self._lock(conn, unique)
        if batch is None:
            return WriteResult(frozenset(), total, 0, 0)
        erased: set[str] = set()
        if self.exclude is not None and batch.fresh:
            erased = await self.exclude(conn, batch.fresh)
            if erased:
                batch.fresh = [e for e in batch.fresh if e.event_id not in erased]
                batch.sightings = [s for s in batch.sightings if s.event_id not in erased]
        if not batch.fresh and not batch.revised:
            return WriteResult(frozenset(), total - len(erased), 0, 0, erased=len(erased))
        now = self.clock()

        def make_customer() -> KnownCustomer:
            return KnownCustomer(self.make_id(), now)

        if batch.scope.rederive:
            return await self._rederive(conn, batch, total, erased, make_customer, now)
        owners = batch.scope.owners
        known_customers = await load_customers(conn, set(owners.values()), self.rules)
        constraints, named = await load_constraints(
            conn, known_customers.keys(), batch.scope.identifiers
        )
        resolution = resolve_batch(
            batch.sightings,
            {**named, **owners},
            known_customers,
            make_customer,
            self.rules,
            constraints,
        )
        await self._apply_identity(conn, resolution, now)
        written = await _insert_timeline(conn, batch.fresh, resolution.assignments)
        updated = await _replace_revised(conn, batch.revised)
        await self._update_aggregates(
            conn,
            [e for e in batch.fresh if e.event_id in written],
            [e for e in (*batch.fresh, *batch.revised) if e.event_id in written | updated],
            resolution,
        )
        return WriteResult(
            written_ids=frozenset(written),
            duplicates=total - len(written) - len(updated) - len(erased),
            new_customers=len(resolution.new_customers),
            merges=len(resolution.merges),
            revised=len(updated),
            conflicts=len(resolution.conflicts),
            erased=len(erased),
        )

    async def _lock(self, conn: AsyncConnection, unique: list[CanonicalEvent]) -> _Batch | None:
        """Lock everything the batch may touch; re-read under the locks until it is enough."""
        locked: frozenset[int] = frozenset()
        for _ in range(MAX_LOCK_ROUNDS):
            stored = await _stored_versions(conn, [e.event_id for e in unique])
            fresh = [e for e in unique if e.event_id not in stored]
            revised = [
                e
                for e in unique
                if e.event_id in stored and (_revision(e) or "") > stored[e.event_id][0]
            ]
            if not fresh and not revised:
                return None
            sightings = [Sighting(e.event_id, e.occurred_at, e.identifiers) for e in fresh]
            # A new revision keeps the identifiers of the stored one, so it stays with its owner.
            sightings += [
                Sighting(e.event_id, e.occurred_at, (*e.identifiers, *stored[e.event_id][1]))
                for e in revised
            ]
            settled = {
                e.event_id for e in revised if set(e.identifiers) <= set(stored[e.event_id][1])
            }
            scope = await load_scope(conn, sightings, self.rules, settled)
            needed = scope.lock_keys()
            if needed <= locked:
                if scope.closure_too_large:
                    log.warning("identity closure too large to re-derive; applied incrementally")
                return _Batch(fresh, revised, sightings, scope)
            if locked:
                await release_all(conn)
            locked |= needed
            await acquire(conn, locked)
        raise IdentityBusy(f"identity scope kept changing over {MAX_LOCK_ROUNDS} rounds")

    async def _rederive(
        self,
        conn: AsyncConnection,
        batch: _Batch,
        total: int,
        erased: set[str],
        make_customer: Callable[[], KnownCustomer],
        now: datetime,
    ) -> WriteResult:
        affected = await load_affected(conn, batch.scope.customers)
        late = min(batch.sightings, key=lambda s: (s.occurred_at, s.event_id))
        out = await rebuild(
            conn, affected, batch.sightings, self.rules, make_customer, late.event_id, now
        )
        written = await _insert_timeline(conn, batch.fresh, out.assignments)
        updated = await _replace_revised(conn, batch.revised)
        final = out.kept | {c.customer_id for c in out.created}
        await refresh_aggregates(conn, final, self.trait_rules)
        return WriteResult(
            written_ids=frozenset(written),
            duplicates=total - len(written) - len(updated) - len(erased),
            new_customers=len(out.created),
            merges=len([c for c in out.retired if c not in affected.merged_into]),
            revised=len(updated),
            conflicts=len(out.conflicts),
            rederived=len(final),
            erased=len(erased),
        )

    async def _apply_identity(self, conn: AsyncConnection, res: Resolution, now: datetime) -> None:
        if res.new_customers:
            await conn.execute(
                insert(customers),
                [
                    {"customer_id": c.customer_id, "created_at": c.created_at}
                    for c in res.new_customers
                ],
            )
        if res.merges:
            await apply_merges(conn, res, self.trait_rules)
        await insert_links(conn, res.links, now)
        await insert_conflicts(conn, res.conflicts)

    async def _update_aggregates(
        self,
        conn: AsyncConnection,
        inserted: Sequence[CanonicalEvent],
        touched: Sequence[CanonicalEvent],
        res: Resolution,
    ) -> None:
        """Channel counts from new rows; first/last seen, traits and cx from every row written."""
        counts: dict[tuple[str, str], list[Any]] = {}
        for e in inserted:
            stat = counts.setdefault(
                (res.assignments[e.event_id], e.channel.value), [0, e.occurred_at]
            )
            stat[0] += 1
            stat[1] = max(stat[1], e.occurred_at)
        seen: dict[str, list[datetime]] = {}
        by_customer: dict[str, list[CanonicalEvent]] = defaultdict(list)
        for e in touched:
            cid = res.assignments[e.event_id]
            span = seen.setdefault(cid, [e.occurred_at, e.occurred_at])
            span[0], span[1] = min(span[0], e.occurred_at), max(span[1], e.occurred_at)
            if e.kind == "survey_response" or e.attributes.get("traits"):
                by_customer[cid].append(e)
        if counts:
            await upsert_channel_counts(conn, counts)
        if seen:
            await widen_seen(conn, seen)
        if by_customer:
            await update_documents(conn, by_customer, self.trait_rules)


async def _insert_timeline(
    conn: AsyncConnection, events: Sequence[CanonicalEvent], owners: dict[str, str]
) -> set[str]:
    rows = [
        {"event_id": e.event_id, "customer_id": owners[e.event_id], **_row_values(e)}
        for e in events
    ]
    return await insert_timeline_rows(conn, rows)


def _revision(event: CanonicalEvent) -> str | None:
    value = event.attributes.get(REVISION_KEY)
    return value if isinstance(value, str) else None


def _newest_per_event_id(events: Sequence[CanonicalEvent]) -> list[CanonicalEvent]:
    """One event per id: the highest revision, else the first seen."""
    chosen: dict[str, CanonicalEvent] = {}
    for e in events:
        held = chosen.get(e.event_id)
        if held is None or (_revision(e) or "") > (_revision(held) or ""):
            chosen[e.event_id] = e
    return list(chosen.values())


async def _stored_versions(
    conn: AsyncConnection, event_ids: list[str]
) -> dict[str, tuple[str, tuple[Identifier, ...]]]:
    """`{event_id: (stored revision or "", stored identifiers)}` for ids already in timelines."""
    result = await conn.execute(
        sa.select(
            timeline_events.c.event_id,
            timeline_events.c.attributes[REVISION_KEY].astext,
            timeline_events.c.identifiers,
        ).where(any_of(timeline_events.c.event_id, event_ids))
    )
    made: dict[tuple[str, str], Identifier] = {}
    return {eid: (rev or "", stored_identifiers(idents, made)) for eid, rev, idents in result}


async def _replace_revised(conn: AsyncConnection, events: Sequence[CanonicalEvent]) -> set[str]:
    """Replace stored items by newer revisions (compare-and-set on the stored revision)."""
    updated: set[str] = set()
    for e in events:
        rev = _revision(e) or ""
        stmt = (
            sa.update(timeline_events)
            .where(
                timeline_events.c.event_id == e.event_id,
                sa.func.coalesce(timeline_events.c.attributes[REVISION_KEY].astext, "") < rev,
            )
            .values(_row_values(e))
            .returning(timeline_events.c.event_id)
        )
        updated.update((await conn.execute(stmt)).scalars())
    return updated


def _row_values(e: CanonicalEvent) -> dict[str, Any]:
    return {
        "channel": e.channel.value,
        "kind": e.kind,
        "occurred_at": e.occurred_at,
        "received_at": e.received_at,
        "source": e.source,
        "summary": e.summary,
        "attributes": e.attributes,
        "identifiers": [{"type": i.type, "value": i.value} for i in e.identifiers],
    }
