"""Reading the part of the identity graph a batch touches: owners, scope, closure, constraints."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from profile_store.domain.batch_groups import batch_groups, groups_to_rederive, linkable
from profile_store.domain.identity import KnownCustomer, Sighting
from profile_store.domain.identity_rules import (
    KIND_SEPARATE,
    KIND_TOGETHER,
    Constraints,
    IdentityRules,
    Together,
)
from profile_store.storage.locks import lock_keys
from schemas.identifiers import Identifier

#: A re-derivation rebuilds at most this many customers / events at once; a larger closure
#: (a kiosk's device id seen with thousands of people) is written incrementally instead.
MAX_CLOSURE_CUSTOMERS = 500
MAX_CLOSURE_EVENTS = 50_000


def _pairs(idents: Iterable[Identifier]) -> dict[str, list[str]]:
    items = sorted({(i.type, i.value) for i in idents})
    return {"types": [t for t, _ in items], "vals": [v for _, v in items]}


def _by_key(idents: Iterable[Identifier]) -> dict[tuple[str, str], Identifier]:
    """The identifiers asked about, by (type, value): rows matched against them map back to
    these instances instead of validating new ones."""
    return {(i.type, i.value): i for i in idents}


@dataclass
class Scope:
    """Whom a batch may touch (`customers`: all of them, locked), and which of its events
    must be re-derived with which customers; the rest of the batch applies incrementally."""

    identifiers: set[Identifier]
    owners: dict[Identifier, str]
    customers: set[str]
    rederive: bool = False
    closure_too_large: bool = False
    rederive_events: set[str] = field(default_factory=set)
    rederive_customers: set[str] = field(default_factory=set)
    conflicted: set[Identifier] = field(default_factory=set)
    #: Identifiers nobody holds yet that the batch (or a re-derivation) may give an owner.
    unowned: set[Identifier] = field(default_factory=set)

    def lock_keys(self) -> frozenset[int]:
        """Customers, and identifiers without an owner: an owned identifier only moves
        under its owner's lock."""
        return lock_keys(self.customers, self.unowned)


@dataclass(frozen=True)
class Closure:
    """Customers connected through their events' identifiers, and those with no owner."""

    customers: set[str]
    unowned: set[Identifier]


async def owners_of(conn: AsyncConnection, idents: Collection[Identifier]) -> dict[Identifier, str]:
    """`{identifier: canonical customer}` for the stored ones."""
    if not idents:
        return {}
    rows = await conn.execute(
        sa.text(
            "SELECT i.id_type, i.id_value, i.customer_id FROM identifiers i JOIN "
            "unnest(CAST(:types AS text[]), CAST(:vals AS text[])) AS p(t, v) "
            "ON i.id_type = p.t AND i.id_value = p.v"
        ),
        _pairs(idents),
    )
    asked = _by_key(idents)
    return {asked[(t, v)]: c for t, v, c in rows}


async def load_scope(
    conn: AsyncConnection,
    sightings: Sequence[Sighting],
    rules: IdentityRules,
    settled: Collection[str] = (),
) -> Scope:
    """Owners of the batch's identifiers, and whether an event arrived too late for them.

    An event is late when a customer it touches already has an event at or after its time.
    Late events that only add to one customer change nothing in the graph; any other late
    event makes the writer re-derive its part of the batch with the customers connected to it
    in time order (`_scope_rederivation`). `settled` events (new revisions that add no
    identifier) are placed already and never late.
    """
    idents = {i for s in sightings for i in linkable(s, rules)}
    owners = await owners_of(conn, idents)
    conflicted: dict[Identifier, set[str]] = {}
    if idents:
        rows = await conn.execute(
            sa.text(
                "SELECT DISTINCT c.id_type, c.id_value, c.customer_id FROM identity_conflicts c "
                "JOIN unnest(CAST(:types AS text[]), CAST(:vals AS text[])) AS p(t, v) "
                "ON c.id_type = p.t AND c.id_value = p.v"
            ),
            _pairs(idents),
        )
        asked = _by_key(idents)
        for t, v, c in rows:
            conflicted.setdefault(asked[(t, v)], set()).add(c)
    touched = set(owners.values()) | {c for cs in conflicted.values() for c in cs}
    scope = Scope(idents, owners, touched, conflicted=set(conflicted), unowned=idents - set(owners))
    if not touched:
        return scope
    rows = await conn.execute(
        sa.text("SELECT customer_id, last_seen FROM customers WHERE customer_id = ANY(:ids)"),
        {"ids": sorted(touched)},
    )
    last_seen: dict[str, datetime | None] = dict(rows.tuples().all())
    late = {
        s.event_id
        for s in sightings
        if s.event_id not in settled
        and _is_late(s, owners, conflicted, last_seen, rules)
        and not _adds_to_one(s, owners, conflicted, rules)
    }
    if late:
        await _scope_rederivation(conn, scope, sightings, late, conflicted, rules)
    return scope


async def _scope_rederivation(
    conn: AsyncConnection,
    scope: Scope,
    sightings: Sequence[Sighting],
    late: set[str],
    conflicted: dict[Identifier, set[str]],
    rules: IdentityRules,
) -> None:
    """Choose the batch's parts to re-derive: those with a late event, grown with every part
    that shares a customer or an unowned identifier with their closure, until stable. With
    admin constraints stored (which can join customers no event connects), the whole batch."""
    groups = batch_groups(sightings, scope.owners, conflicted, rules)
    whole = bool(await conn.scalar(sa.text("SELECT EXISTS (SELECT 1 FROM identity_constraints)")))
    chosen = groups if whole else groups_to_rederive(groups, late)
    while True:
        closure = await expand_closure(conn, {c for g in chosen for c in g.customers})
        if closure is None:
            scope.closure_too_large = True
            return
        if whole:
            break
        grown = groups_to_rederive(groups, late, closure.customers, closure.unowned)
        if len(grown) == len(chosen):  # grown only ever adds groups
            break
        chosen = grown
    scope.rederive = True
    scope.rederive_events = {e for g in chosen for e in g.event_ids}
    scope.rederive_customers = closure.customers
    scope.customers |= closure.customers
    scope.unowned |= closure.unowned


def _is_late(
    s: Sighting,
    owners: dict[Identifier, str],
    conflicted: dict[Identifier, set[str]],
    last_seen: dict[str, datetime | None],
    rules: IdentityRules,
) -> bool:
    cids = {owners[i] for i in linkable(s, rules) if i in owners}
    cids |= {c for i in linkable(s, rules) for c in conflicted.get(i, ())}
    return any((seen := last_seen.get(c)) is not None and seen >= s.occurred_at for c in cids)


def _adds_to_one(
    s: Sighting,
    owners: dict[Identifier, str],
    conflicted: dict[Identifier, set[str]],
    rules: IdentityRules,
) -> bool:
    """All its linking identifiers already belong to one customer, its references to it or
    nobody, and none of them was ever refused: placing it early changes no decision."""
    idents = linkable(s, rules)
    if any(i in conflicted for i in idents):
        return False
    links = [i for i in idents if not rules.is_reference(i)]
    holders = {owners.get(i) for i in links}
    if len(holders) != 1 or None in holders:
        return False
    (cid,) = holders
    return all(owners.get(i) in (None, cid) for i in idents if rules.is_reference(i))


async def expand_closure(conn: AsyncConnection, start: set[str]) -> Closure | None:
    """Customers connected to `start` through identifiers in their events (owned or
    refused); None when that grows past the re-derivation limits."""
    closure = set(start)
    while True:
        rows = await conn.execute(
            sa.text(
                "WITH s AS (SELECT DISTINCT x->>'type' AS t, x->>'value' AS v "
                "FROM timeline_events te CROSS JOIN LATERAL jsonb_array_elements(te.identifiers) x "
                "WHERE te.customer_id = ANY(:ids)) "
                "SELECT i.customer_id FROM identifiers i JOIN s ON i.id_type = s.t "
                "AND i.id_value = s.v UNION SELECT c.customer_id FROM identity_conflicts c "
                "JOIN s ON c.id_type = s.t AND c.id_value = s.v"
            ),
            {"ids": sorted(closure)},
        )
        grown = closure | set(rows.scalars())
        if len(grown) > MAX_CLOSURE_CUSTOMERS:
            return None
        if grown == closure:
            break
        closure = grown
    count = await conn.scalar(
        sa.text("SELECT count(*) FROM timeline_events WHERE customer_id = ANY(:ids)"),
        {"ids": sorted(closure)},
    )
    if (count or 0) > MAX_CLOSURE_EVENTS:
        return None
    rows = await conn.execute(
        sa.text(
            # Distinct identifiers first, then the anti-join: probing `identifiers` once per
            # event element instead took 4-5 s for a customer with 12,851 events (80 ms now).
            "WITH s AS (SELECT DISTINCT x->>'type' AS t, x->>'value' AS v "
            "FROM timeline_events te CROSS JOIN LATERAL jsonb_array_elements(te.identifiers) x "
            "WHERE te.customer_id = ANY(:ids)) "
            "SELECT s.t, s.v FROM s WHERE NOT EXISTS (SELECT 1 FROM identifiers i "
            "WHERE i.id_type = s.t AND i.id_value = s.v)"
        ),
        {"ids": sorted(closure)},
    )
    return Closure(closure, {Identifier(type=t, value=v) for t, v in rows})


async def load_customers(
    conn: AsyncConnection, ids: Collection[str], rules: IdentityRules
) -> dict[str, KnownCustomer]:
    """Customers with their placeholder flag and their counts per identifier type."""
    if not ids:
        return {}
    refs = sorted(t for t, r in rules.types.items() if r.reference)
    rows = await conn.execute(
        sa.text(
            "SELECT c.customer_id, c.created_at, "
            "EXISTS (SELECT 1 FROM identifiers i WHERE i.customer_id = c.customer_id "
            "AND NOT (i.id_type = ANY(:refs))) AS real, "
            "COALESCE((SELECT jsonb_object_agg(g.id_type, g.n) FROM (SELECT id_type, count(*) n "
            "FROM identifiers i WHERE i.customer_id = c.customer_id GROUP BY id_type) g), "
            "'{}'::jsonb) AS counts "
            "FROM customers c WHERE c.customer_id = ANY(:ids)"
        ),
        {"ids": sorted(ids), "refs": refs},
    )
    return {
        cid: KnownCustomer(cid, at, not real, {k: int(n) for k, n in counts.items()})
        for cid, at, real, counts in rows
    }


async def load_constraints(
    conn: AsyncConnection, customers: Collection[str], idents: Collection[Identifier]
) -> tuple[Constraints, dict[Identifier, str]]:
    """Admin constraints naming the batch's identifiers or those the customers hold, and
    the owners of every identifier they name."""
    if not await conn.scalar(sa.text("SELECT EXISTS (SELECT 1 FROM identity_constraints)")):
        return Constraints(), {}
    rows = await conn.execute(
        sa.text(
            "WITH held AS (SELECT id_type AS t, id_value AS v FROM identifiers "
            "WHERE customer_id = ANY(:ids) UNION SELECT t, v FROM "
            "unnest(CAST(:types AS text[]), CAST(:vals AS text[])) AS p(t, v)) "
            "SELECT kind, a_type, a_value, b_type, b_value, created_at "
            "FROM identity_constraints k "
            "WHERE EXISTS (SELECT 1 FROM held WHERE held.t = k.a_type AND held.v = k.a_value) "
            "OR EXISTS (SELECT 1 FROM held WHERE held.t = k.b_type AND held.v = k.b_value)"
        ),
        {"ids": sorted(customers), **_pairs(idents)},
    )
    separate: list[tuple[Identifier, Identifier]] = []
    together: list[Together] = []
    named: set[Identifier] = set()
    for kind, at_, av, bt, bv, created in rows:
        a, b = Identifier(type=at_, value=av), Identifier(type=bt, value=bv)
        named |= {a, b}
        if kind == KIND_SEPARATE:
            separate.append((a, b))
        elif kind == KIND_TOGETHER:
            together.append(Together(a, b, created))
    return Constraints.of(separate, together), await owners_of(conn, named)
