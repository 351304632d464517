"""Batch writer: stitches a batch of canonical events and appends them to timelines, idempotently.

One transaction per batch, under per-customer and per-identifier locks (`storage.locks`), so
workers on different partitions write in parallel and agree on every merge. The identity
rules live in `profile_store.domain`; this module loads the part of the graph the batch
touches (`graph.load_scope`, which asks `domain.lateness` and `domain.scope`) and applies the
batch incrementally (`incremental`), except the parts holding events that arrived too late
for that to be right: their customers, however many, are re-derived in time order
(`rebuild`, replaying through `domain.rederive`). Driver errors leave as the store's own
(`storage.errors`).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from profile_store.domain.batch_groups import linkable
from profile_store.domain.identity import KnownCustomer, Sighting, resolve_batch
from profile_store.domain.identity_rules import DEFAULT_RULES, IdentityRules
from profile_store.domain.scope import Scope
from profile_store.domain.traits import DEFAULT_TRAIT_RULES, TraitRules
from profile_store.domain.trust import sighting
from profile_store.storage.errors import store_errors
from profile_store.storage.locks import lock_keys, lock_until_stable, release_connection
from profile_store.write.aggregates import refresh_aggregates
from profile_store.write.graph import load_constraints, load_customers, load_scope
from profile_store.write.incremental import apply_identity, update_aggregates
from profile_store.write.rebuild import load_affected, rebuild
from profile_store.write.timeline_rows import (
    insert_timeline,
    newest_per_event_id,
    replace_revised,
    revision_of,
    stored_versions,
)
from schemas.events import CanonicalEvent, utc_now

#: Larger batches are written as several transactions of at most this many events (in time
#: order), which bounds the advisory locks one transaction holds (see the README on
#: `max_locks_per_transaction`).
MAX_EVENTS_PER_TRANSACTION = 1000

#: Decides, inside the batch's locked transaction, which new events must not be written
#: (an erased person's tombstone, say): returns their event ids.
EventFilter = Callable[[AsyncConnection, Sequence[CanonicalEvent]], Awaitable[set[str]]]


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

    def split(self, event_ids: Collection[str]) -> tuple[_Batch, _Batch]:
        """The events named in `event_ids`, and the others (the same scope)."""

        def part(inside: bool) -> _Batch:
            return _Batch(
                [e for e in self.fresh if (e.event_id in event_ids) == inside],
                [e for e in self.revised if (e.event_id in event_ids) == inside],
                [s for s in self.sightings if (s.event_id in event_ids) == inside],
                self.scope,
            )

        return part(True), part(False)


@dataclass(frozen=True)
class _Applied:
    """What applying (part of) a batch wrote."""

    written: set[str]
    updated: set[str]
    new_customers: int
    merges: int
    conflicts: int
    rederived: int = 0


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
        unique = newest_per_event_id(events)
        async with store_errors, self.engine.connect() as conn:
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

        parts: list[_Applied] = []
        rest = batch
        if batch.scope.rederive:
            redo, rest = batch.split(batch.scope.rederive_events)
            parts.append(await self._rederive(conn, redo, make_customer, now))
        if rest.fresh or rest.revised:
            parts.append(await self._incremental(conn, rest, make_customer, now))
        written = set().union(*(p.written for p in parts))
        updated = set().union(*(p.updated for p in parts))
        return WriteResult(
            written_ids=frozenset(written),
            duplicates=total - len(written) - len(updated) - len(erased),
            new_customers=sum(p.new_customers for p in parts),
            merges=sum(p.merges for p in parts),
            revised=len(updated),
            conflicts=sum(p.conflicts for p in parts),
            rederived=sum(p.rederived for p in parts),
            erased=len(erased),
        )

    async def _incremental(
        self,
        conn: AsyncConnection,
        batch: _Batch,
        make_customer: Callable[[], KnownCustomer],
        now: datetime,
    ) -> _Applied:
        """Resolve the batch's identities against the stored graph and append its events."""
        idents = {i for s in batch.sightings for i in linkable(s, self.rules)}
        owners = {i: c for i, c in batch.scope.owners.items() if i in idents}
        known_customers = await load_customers(conn, set(owners.values()), self.rules)
        constraints, named = await load_constraints(conn, known_customers.keys(), idents)
        resolution = resolve_batch(
            batch.sightings,
            {**named, **owners},
            known_customers,
            make_customer,
            self.rules,
            constraints,
        )
        await apply_identity(conn, resolution, now, self.trait_rules)
        written = await insert_timeline(conn, batch.fresh, resolution.assignments)
        updated = await replace_revised(conn, batch.revised)
        await update_aggregates(
            conn,
            [e for e in batch.fresh if e.event_id in written],
            [e for e in (*batch.fresh, *batch.revised) if e.event_id in written | updated],
            resolution,
            self.trait_rules,
        )
        return _Applied(
            written,
            updated,
            new_customers=len(resolution.new_customers),
            merges=len(resolution.merges),
            conflicts=len(resolution.conflicts),
        )

    async def _lock(self, conn: AsyncConnection, unique: list[CanonicalEvent]) -> _Batch | None:
        """Lock everything the batch may touch; re-read under the locks until it is enough."""

        async def read() -> tuple[_Batch | None, frozenset[int]]:
            stored = await stored_versions(conn, [e.event_id for e in unique])
            fresh = [e for e in unique if e.event_id not in stored]
            revised = [
                e
                for e in unique
                if e.event_id in stored and (revision_of(e) or "") > stored[e.event_id][0]
            ]
            if not fresh and not revised:
                return None, frozenset()
            sightings = [sighting(e) for e in fresh]
            # A new revision keeps the identifiers of the stored one, so it stays with its owner.
            sightings += [
                Sighting(e.event_id, e.occurred_at, (*e.identifiers, *stored[e.event_id][1]))
                for e in revised
            ]
            settled = {
                e.event_id for e in revised if set(e.identifiers) <= set(stored[e.event_id][1])
            }
            scope = await load_scope(conn, sightings, self.rules, settled)
            # Customers, and identifiers without an owner: an owned identifier only moves under
            # its owner's lock.
            return _Batch(fresh, revised, sightings, scope), lock_keys(
                scope.customers, scope.unowned
            )

        return await lock_until_stable(conn, read)

    async def _rederive(
        self,
        conn: AsyncConnection,
        batch: _Batch,
        make_customer: Callable[[], KnownCustomer],
        now: datetime,
    ) -> _Applied:
        """Rebuild the customers connected to the batch's late events, with these events, in
        time order (`profile_store.write.rebuild`, any number of them)."""
        affected = await load_affected(conn, batch.scope.rederive_customers)
        late = min(batch.sightings, key=lambda s: (s.occurred_at, s.event_id))
        out = await rebuild(
            conn, affected, batch.sightings, self.rules, make_customer, late.event_id, now
        )
        written = await insert_timeline(conn, batch.fresh, out.assignments)
        updated = await replace_revised(conn, batch.revised)
        final = out.final
        await refresh_aggregates(conn, final, self.trait_rules)
        return _Applied(
            written,
            updated,
            new_customers=len(out.created),
            merges=len([c for c in out.retired if c not in affected.merged_into]),
            conflicts=out.conflicts,
            rederived=len(final),
        )
