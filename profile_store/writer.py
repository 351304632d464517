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
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from profile_store.identity import (
    DEFAULT_RULES,
    IdentityRules,
    KnownCustomer,
    Resolution,
    Sighting,
    resolve_batch,
)
from profile_store.merge_writer import apply_merges, load_traits, store_traits
from profile_store.models import customer_channels, customers, identifiers, timeline_events
from profile_store.traits import merge_traits
from schemas.events import CanonicalEvent, utc_now
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

    @property
    def written(self) -> int:
        """How many timeline rows the batch added."""
        return len(self.written_ids)


def _iso(ts: datetime) -> str:
    return ts.isoformat(timespec="microseconds")


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
        """Write a batch in one transaction; events already stored are skipped (idempotent)."""
        unique = list({e.event_id: e for e in reversed(events)}.values())[::-1]
        async with self.engine.begin() as conn:
            await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(IDENTITY_LOCK_KEY)))
            stored = await _existing_event_ids(conn, [e.event_id for e in unique])
            fresh = [e for e in unique if e.event_id not in stored]
            if not fresh:
                return WriteResult(frozenset(), len(events), 0, 0)
            now = self.clock()
            known, graph = await self._load_graph(conn, fresh)

            def make_customer() -> KnownCustomer:
                return KnownCustomer(self.make_id(), now)

            sightings = [Sighting(e.event_id, e.occurred_at, e.identifiers) for e in fresh]
            resolution = resolve_batch(sightings, known, graph, make_customer, self.rules)
            await self._apply_identity(conn, resolution, now)
            written = await self._insert_timeline(conn, fresh, resolution.assignments)
            await self._update_aggregates(
                conn, [e for e in fresh if e.event_id in written], resolution
            )
        return WriteResult(
            written_ids=frozenset(written),
            duplicates=len(events) - len(written),
            new_customers=len(resolution.new_customers),
            merges=len(resolution.merges),
        )

    async def _load_graph(
        self, conn: AsyncConnection, events: Sequence[CanonicalEvent]
    ) -> tuple[dict[Identifier, str], dict[str, KnownCustomer]]:
        idents = {i for e in events for i in e.identifiers}
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
            result = await conn.execute(
                sa.select(customers.c.customer_id, customers.c.created_at).where(
                    customers.c.customer_id.in_(set(known.values()))
                )
            )
            graph = {cid: KnownCustomer(cid, created) for cid, created in result}
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
        rows = [
            {
                "event_id": e.event_id,
                "customer_id": owners[e.event_id],
                "channel": e.channel.value,
                "kind": e.kind,
                "occurred_at": e.occurred_at,
                "received_at": e.received_at,
                "source": e.source,
                "summary": e.summary,
                "attributes": e.attributes,
                "identifiers": [{"type": i.type, "value": i.value} for i in e.identifiers],
            }
            for e in events
        ]
        stmt = insert(timeline_events).on_conflict_do_nothing(index_elements=["event_id"])
        result = await conn.execute(stmt.returning(timeline_events.c.event_id), rows)
        return set(result.scalars())

    async def _update_aggregates(
        self, conn: AsyncConnection, events: Sequence[CanonicalEvent], res: Resolution
    ) -> None:
        if not events:
            return
        counts: dict[tuple[str, str], list[Any]] = {}
        seen: dict[str, list[datetime]] = {}
        trait_updates: dict[str, list[CanonicalEvent]] = defaultdict(list)
        for e in events:
            cid = res.assignments[e.event_id]
            key = (cid, e.channel.value)
            stat = counts.setdefault(key, [0, e.occurred_at])
            stat[0] += 1
            stat[1] = max(stat[1], e.occurred_at)
            span = seen.setdefault(cid, [e.occurred_at, e.occurred_at])
            span[0], span[1] = min(span[0], e.occurred_at), max(span[1], e.occurred_at)
            if isinstance(e.attributes.get("traits"), dict) and e.attributes["traits"]:
                trait_updates[cid].append(e)
        upsert = insert(customer_channels)
        await conn.execute(
            upsert.on_conflict_do_update(
                index_elements=["customer_id", "channel"],
                set_={
                    "event_count": customer_channels.c.event_count + upsert.excluded.event_count,
                    "last_at": sa.func.greatest(
                        customer_channels.c.last_at, upsert.excluded.last_at
                    ),
                },
            ),
            [
                {"customer_id": c, "channel": ch, "event_count": n, "last_at": last}
                for (c, ch), (n, last) in counts.items()
            ],
        )
        await conn.execute(
            sa.update(customers)
            .where(customers.c.customer_id == sa.bindparam("cid"))
            .values(
                first_seen=sa.func.least(customers.c.first_seen, sa.bindparam("first")),
                last_seen=sa.func.greatest(customers.c.last_seen, sa.bindparam("last")),
            ),
            [{"cid": c, "first": f, "last": last} for c, (f, last) in seen.items()],
        )
        if trait_updates:
            await _update_traits(conn, trait_updates)


async def _existing_event_ids(conn: AsyncConnection, event_ids: list[str]) -> set[str]:
    result = await conn.execute(
        sa.select(timeline_events.c.event_id).where(timeline_events.c.event_id.in_(event_ids))
    )
    return set(result.scalars())


async def _update_traits(conn: AsyncConnection, updates: dict[str, list[CanonicalEvent]]) -> None:
    current = await load_traits(conn, set(updates))
    for cid, events in updates.items():
        stored = current.get(cid, {})
        for e in events:
            stored = merge_traits(stored, e.attributes["traits"], _iso(e.occurred_at), e.source)
        current[cid] = stored
    await store_traits(conn, current)
