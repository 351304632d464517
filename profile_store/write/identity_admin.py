"""Admin identity operations: unmerge (split) and manual merge, by re-deriving from events.

Both record a constraint (`separate` or `together`) between the two customers' strongest
identifiers and rebuild the affected customers from their stored events under it, so the
decision holds for every later event and no event is lost. Both are audited.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from profile_store import ProfileStoreError
from profile_store.domain.identity import KnownCustomer
from profile_store.domain.identity_rules import KIND_SEPARATE, KIND_TOGETHER
from profile_store.domain.stitching_config import StitchingConfig
from profile_store.storage.audit import record_audit
from profile_store.storage.errors import store_errors
from profile_store.storage.locks import lock_keys, lock_until_stable, release_connection
from profile_store.storage.survivor import survivor_of
from profile_store.storage.tables import identity_constraints
from profile_store.write.aggregates import refresh_aggregates
from profile_store.write.graph import expand_closure
from profile_store.write.rebuild import load_affected, rebuild
from profile_store.write.writer import new_customer_id
from schemas.events import utc_now
from schemas.identifiers import Identifier


class IdentityAdminError(ProfileStoreError):
    """An admin identity operation cannot be done as asked."""


class UnknownCustomer(IdentityAdminError):
    """No customer has that id."""


class NotMerged(IdentityAdminError):
    """The customer to split off is not merged into this one."""


class NothingToSeparate(IdentityAdminError):
    """One side holds no identifier that could keep the two apart."""


class AlreadyOne(IdentityAdminError):
    """Both ids are the same customer already."""


@dataclass(frozen=True)
class AdminOutcome:
    """The canonical customers after the operation."""

    customer_id: str
    other_id: str
    rebuilt: tuple[str, ...]


@dataclass(frozen=True)
class Actor:
    """Who asks (an API key's name and role), for the audit log."""

    name: str
    role: str


async def unmerge(
    engine: AsyncEngine, customer_id: str, merged_id: str, actor: Actor, config: StitchingConfig
) -> AdminOutcome:
    """Split `merged_id` back out of the customer it was merged into."""
    async with store_errors, engine.connect() as conn:
        try:
            survivor = await _canonical(conn, customer_id)
            closure = await _lock_closure(conn, {survivor})
            survivor = await _canonical(conn, customer_id)
            if merged_id == survivor or await _canonical(conn, merged_id) != survivor:
                raise NotMerged(f"{merged_id} is not merged into {survivor}")
            theirs, ours = await _sides(conn, survivor, merged_id)
            a, b = _strongest(theirs, config), _strongest(ours, config)
            if a is None or b is None:
                raise NothingToSeparate("one side holds no linking identifier to separate by")
            await _add_constraint(conn, KIND_SEPARATE, a, b, actor, f"unmerge {merged_id}")
            rebuilt = await _rebuild(conn, closure, config, f"unmerge:{merged_id}")
            await record_audit(
                conn,
                actor=actor.name,
                role=actor.role,
                action="unmerge",
                customer_id=survivor,
                detail={"merged_id": merged_id, "separated_types": [a.type, b.type]},
            )
            await conn.commit()
            return AdminOutcome(
                await _canonical(conn, customer_id),
                await _canonical(conn, merged_id),
                tuple(sorted(rebuilt)),
            )
        finally:
            await release_connection(conn)


async def manual_merge(
    engine: AsyncEngine, customer_id: str, other_id: str, actor: Actor, config: StitchingConfig
) -> AdminOutcome:
    """Make two customers one from now on (lifting any separation between them)."""
    async with store_errors, engine.connect() as conn:
        try:
            first = await _canonical(conn, customer_id)
            second = await _canonical(conn, other_id)
            closure = await _lock_closure(conn, {first, second})
            first, second = await _canonical(conn, customer_id), await _canonical(conn, other_id)
            if first == second:
                raise AlreadyOne(f"{customer_id} and {other_id} are one customer already")
            held_a, held_b = await _held(conn, first), await _held(conn, second)
            a, b = _strongest(held_a, config), _strongest(held_b, config)
            if a is None or b is None:
                raise NothingToSeparate("one customer holds no linking identifier to merge by")
            await _lift_separations(conn, held_a, held_b)
            await _add_constraint(conn, KIND_TOGETHER, a, b, actor, f"merge {other_id}")
            rebuilt = await _rebuild(conn, closure, config, f"manual:{other_id}")
            await record_audit(
                conn,
                actor=actor.name,
                role=actor.role,
                action="manual_merge",
                customer_id=first,
                detail={"other_id": second, "linked_types": [a.type, b.type]},
            )
            await conn.commit()
            return AdminOutcome(await _canonical(conn, customer_id), second, tuple(sorted(rebuilt)))
        finally:
            await release_connection(conn)


async def _canonical(conn: AsyncConnection, customer_id: str) -> str:
    survivor = await survivor_of(conn, customer_id)
    if survivor is None:
        raise UnknownCustomer(f"no customer {customer_id}")
    return survivor


async def _lock_closure(conn: AsyncConnection, start: set[str]) -> frozenset[str]:
    async def read() -> tuple[frozenset[str], frozenset[int]]:
        current = {await _canonical(conn, c) for c in start}
        closure = await expand_closure(conn, current)
        return closure.customers, lock_keys(closure.customers, closure.unowned)

    return await lock_until_stable(conn, read)


async def _held(conn: AsyncConnection, customer_id: str) -> list[Identifier]:
    rows = await conn.execute(
        sa.text("SELECT id_type, id_value FROM identifiers WHERE customer_id = :c"),
        {"c": customer_id},
    )
    return [Identifier(type=t, value=v) for t, v in rows]


async def _sides(
    conn: AsyncConnection, survivor: str, merged_id: str
) -> tuple[list[Identifier], list[Identifier]]:
    """The survivor's identifiers first linked on the merged customer (or on customers it had
    absorbed), and the rest."""
    rows = await conn.execute(
        sa.text(
            "SELECT i.id_type, i.id_value, t.origin_customer_id = :m "
            "OR t.origin_customer_id IN (SELECT merged_id FROM merges WHERE survivor_id = :m) "
            "FROM identifiers i LEFT JOIN timeline_events t ON t.event_id = i.event_id "
            "WHERE i.customer_id = :s"
        ),
        {"s": survivor, "m": merged_id},
    )
    theirs: list[Identifier] = []
    ours: list[Identifier] = []
    for t, v, is_theirs in rows:
        (theirs if is_theirs else ours).append(Identifier(type=t, value=v))
    return theirs, ours


def _strongest(idents: Collection[Identifier], config: StitchingConfig) -> Identifier | None:
    rules = config.identity
    usable = [i for i in idents if not rules.is_reference(i) and not rules.is_blocked(i)]
    return min(usable, key=rules.rank, default=None)


async def _add_constraint(
    conn: AsyncConnection, kind: str, a: Identifier, b: Identifier, actor: Actor, reason: str
) -> None:
    x, y = sorted((a, b), key=lambda i: (i.type, i.value))
    await conn.execute(
        insert(identity_constraints)
        .values(
            kind=kind,
            a_type=x.type,
            a_value=x.value,
            b_type=y.type,
            b_value=y.value,
            actor=actor.name,
            reason=reason,
        )
        .on_conflict_do_nothing()
    )


async def _lift_separations(
    conn: AsyncConnection, held_a: list[Identifier], held_b: list[Identifier]
) -> None:
    """Drop every separation between an identifier of one and an identifier of the other."""
    await conn.execute(
        sa.text(
            "DELETE FROM identity_constraints k WHERE kind = :kind AND ("
            "(a_type || ':' || a_value = ANY(:a) AND b_type || ':' || b_value = ANY(:b)) OR "
            "(a_type || ':' || a_value = ANY(:b) AND b_type || ':' || b_value = ANY(:a)))"
        ),
        {
            "kind": KIND_SEPARATE,
            "a": [f"{i.type}:{i.value}" for i in held_a],
            "b": [f"{i.type}:{i.value}" for i in held_b],
        },
    )


async def _rebuild(
    conn: AsyncConnection, closure: Collection[str], config: StitchingConfig, cause: str
) -> set[str]:
    now = utc_now()

    def make() -> KnownCustomer:
        return KnownCustomer(new_customer_id(), now)

    affected = await load_affected(conn, closure)
    out = await rebuild(conn, affected, [], config.identity, make, cause, now)
    final = out.final
    await refresh_aggregates(conn, final, config.traits)
    return final
