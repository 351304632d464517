"""Batch writer: stitches a batch of canonical events and appends them to timelines, idempotently.

One transaction per batch. The identity rules live in `profile_store.identity`; this module
only loads the part of the graph the batch touches and persists the decision.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exists
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from profile_store.aggregates import update_documents, upsert_channel_counts, widen_seen
from profile_store.identity import (
    DEFAULT_RULES,
    IdentityRules,
    KnownCustomer,
    Resolution,
    Sighting,
    resolve_batch,
)
from profile_store.merge_writer import apply_merges
from profile_store.models import customers, identifiers, timeline_events
from schemas.events import REVISION_KEY, CanonicalEvent, utc_now
from schemas.identifiers import Identifier

#: Serialises identity-graph updates between workers. Merges move rows between customers,
#: so two batches must not stitch the same people at once; one lock keeps that simple and
#: deadlock-free at the cost of serialising the (short) write transactions.
IDENTITY_LOCK_KEY = 7_391_004_212


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

    @property
    def written(self) -> int:
        """How many timeline rows the batch added."""
        return len(self.written_ids)


class TimelineWriter:
    """Writes batches of canonical events: identity links and merges, timeline rows, aggregates."""

    def __init__(
        self,
        engine: AsyncEngine,
        rules: IdentityRules = DEFAULT_RULES,
        make_id: Callable[[], str] = new_customer_id,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.engine, self.rules, self.make_id, self.clock = engine, rules, make_id, clock

    async def write(self, events: Sequence[CanonicalEvent]) -> WriteResult:
        """Write a batch in one transaction; events already stored are skipped (idempotent),
        unless they carry a newer revision, which replaces the stored timeline item."""
        unique = _newest_per_event_id(events)
        async with self.engine.begin() as conn:
            await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(IDENTITY_LOCK_KEY)))
            stored = await _stored_versions(conn, [e.event_id for e in unique])
            fresh = [e for e in unique if e.event_id not in stored]
            revised = [
                e
                for e in unique
                if e.event_id in stored and (_revision(e) or "") > stored[e.event_id][0]
            ]
            if not fresh and not revised:
                return WriteResult(frozenset(), len(events), 0, 0)
            now = self.clock()
            sightings = [Sighting(e.event_id, e.occurred_at, e.identifiers) for e in fresh]
            # A new revision keeps the identifiers of the stored one, so it stays with its owner.
            sightings += [
                Sighting(e.event_id, e.occurred_at, (*e.identifiers, *stored[e.event_id][1]))
                for e in revised
            ]
            known, graph = await self._load_graph(conn, sightings)

            def make_customer() -> KnownCustomer:
                return KnownCustomer(self.make_id(), now)

            resolution = resolve_batch(sightings, known, graph, make_customer, self.rules)
            await self._apply_identity(conn, resolution, now)
            written = await self._insert_timeline(conn, fresh, resolution.assignments)
            updated = await _replace_revised(conn, revised)
            await self._update_aggregates(
                conn,
                [e for e in fresh if e.event_id in written],
                [e for e in unique if e.event_id in written or e.event_id in updated],
                resolution,
            )
        return WriteResult(
            written_ids=frozenset(written),
            duplicates=len(events) - len(written) - len(updated),
            new_customers=len(resolution.new_customers),
            merges=len(resolution.merges),
            revised=len(updated),
        )

    async def _load_graph(
        self, conn: AsyncConnection, sightings: Sequence[Sighting]
    ) -> tuple[dict[Identifier, str], dict[str, KnownCustomer]]:
        idents = {i for s in sightings for i in s.identifiers}
        if not idents:
            return {}, {}
        pairs = (
            sa.func.unnest(
                sa.cast(sa.literal([i.type for i in idents]), ARRAY(sa.Text)),
                sa.cast(sa.literal([i.value for i in idents]), ARRAY(sa.Text)),
            )
            .table_valued("t", "v")
            .render_derived(name="pairs")
        )
        rows = await conn.execute(
            sa.select(
                identifiers.c.id_type, identifiers.c.id_value, identifiers.c.customer_id
            ).join(
                pairs,
                sa.and_(identifiers.c.id_type == pairs.c.t, identifiers.c.id_value == pairs.c.v),
            )
        )
        known = {Identifier(type=t, value=v): c for t, v, c in rows}
        graph: dict[str, KnownCustomer] = {}
        if known:
            ids = set(known.values())
            # Placeholders: customers that hold only reference ids (see identity.KnownCustomer).
            real = exists().where(
                identifiers.c.customer_id == customers.c.customer_id,
                identifiers.c.id_type.not_in(sorted(self.rules.reference_types)),
            )
            result = await conn.execute(
                sa.select(customers.c.customer_id, customers.c.created_at, real).where(
                    customers.c.customer_id.in_(ids)
                )
            )
            graph = {cid: KnownCustomer(cid, at, not is_real) for cid, at, is_real in result}
        return known, graph

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
            await apply_merges(conn, res)
        if res.links:
            await conn.execute(
                insert(identifiers).on_conflict_do_nothing(),
                [
                    {
                        "id_type": lk.identifier.type,
                        "id_value": lk.identifier.value,
                        "customer_id": lk.customer_id,
                        "event_id": lk.event_id,
                        "rule": lk.rule,
                        "first_seen": now,
                    }
                    for lk in res.links
                ],
            )

    async def _insert_timeline(
        self, conn: AsyncConnection, events: Sequence[CanonicalEvent], owners: dict[str, str]
    ) -> set[str]:
        if not events:
            return set()
        rows = [
            {"event_id": e.event_id, "customer_id": owners[e.event_id], **_row_values(e)}
            for e in events
        ]
        stmt = insert(timeline_events).on_conflict_do_nothing(index_elements=["event_id"])
        result = await conn.execute(stmt.returning(timeline_events.c.event_id), rows)
        return set(result.scalars())

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
            await update_documents(conn, by_customer)


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
        ).where(timeline_events.c.event_id.in_(event_ids))
    )
    return {
        eid: (rev or "", tuple(Identifier(type=i["type"], value=i["value"]) for i in idents))
        for eid, rev, idents in result
    }


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
