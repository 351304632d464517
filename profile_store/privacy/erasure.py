"""Data-subject erasure: delete everything held on a customer, leave salted tombstones, audit it.

One transaction erases the canonical customer and every customer merged into it: timeline
events, identifiers, traits and cx (the customer rows), channel counts, merge records,
identity conflicts and constraints naming its identifiers, and dead letters carrying them.
What remains is one tombstone per identifier (see `profile_store.privacy.tombstones`) and an audit
entry holding counts and hashes only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from profile_store.privacy.tombstones import identifier_hash
from profile_store.storage.audit import record_audit
from profile_store.storage.errors import store_errors
from profile_store.storage.insight_tables import customer_signals, insight_contributions
from profile_store.storage.locks import lock_customer, release_connection
from profile_store.storage.survivor import MAX_MERGE_HOPS, survivor_of
from profile_store.storage.tables import (
    customer_channels,
    customers,
    dead_letters,
    erasure_tombstones,
    identifiers,
    identity_conflicts,
    identity_constraints,
    merges,
    timeline_events,
)

ERASE_ACTION = "customer.erased"


@dataclass(frozen=True)
class ErasureResult:
    """What one erasure removed (counts only) and the tombstones it left."""

    erasure_id: str
    customer_id: str
    customers: int
    timeline_events: int
    identifiers: int
    merges: int
    identity_conflicts: int
    identity_constraints: int
    dead_letters: int
    tombstones: tuple[str, ...] = field(default=())

    def counts(self) -> dict[str, int]:
        """The per-table counts, as recorded in the audit log."""
        return {
            "customers": self.customers,
            "timeline_events": self.timeline_events,
            "identifiers": self.identifiers,
            "merges": self.merges,
            "identity_conflicts": self.identity_conflicts,
            "identity_constraints": self.identity_constraints,
            "dead_letters": self.dead_letters,
        }


async def _deleted(conn: AsyncConnection, stmt: sa.Delete) -> int:
    result = await conn.execute(stmt)
    return int(result.rowcount or 0)


def _naming(type_col: Any, value_col: Any, held: list[tuple[str, str]]) -> Any:
    return sa.tuple_(type_col, value_col).in_(held) if held else sa.false()


async def erase(
    engine: AsyncEngine, customer_id: str, salt: bytes, *, actor: str, role: str
) -> ErasureResult | None:
    """Erase the customer behind `customer_id` in one transaction, under the customer's
    stitching lock (no batch can write to it meanwhile); None if unknown."""
    async with store_errors, engine.connect() as conn:
        try:
            if await lock_customer(conn, customer_id) is None:
                return None
            result = await erase_customer(conn, customer_id, salt, actor=actor, role=role)
            await conn.commit()
            return result
        finally:
            await release_connection(conn)


#: Every customer merged into `canonical`, directly or through a chain (merges normally point
#: straight at the survivor; a chain left by an interrupted rebuild must not keep data alive).
_ABSORBED: Final = sa.text(
    "WITH RECURSIVE absorbed(customer_id, depth) AS ("
    "SELECT customer_id, 1 FROM customers WHERE merged_into = :canonical "
    "UNION ALL SELECT c.customer_id, a.depth + 1 FROM customers c "
    "JOIN absorbed a ON c.merged_into = a.customer_id WHERE a.depth < :max_hops) "
    "SELECT DISTINCT customer_id FROM absorbed"
)


async def erase_customer(
    conn: AsyncConnection, customer_id: str, salt: bytes, *, actor: str, role: str
) -> ErasureResult | None:
    """Erase the customer behind `customer_id` in the caller's transaction; None if unknown.
    The caller holds the customer's lock (see `erase`)."""
    canonical = await survivor_of(conn, customer_id)
    if canonical is None:
        return None
    absorbed = await conn.scalars(_ABSORBED, {"canonical": canonical, "max_hops": MAX_MERGE_HOPS})
    ids = [canonical, *absorbed.all()]
    held = [
        (str(t), str(v))
        for t, v in await conn.execute(
            sa.select(identifiers.c.id_type, identifiers.c.id_value).where(
                identifiers.c.customer_id.in_(ids)
            )
        )
    ]
    hashes = tuple(sorted({identifier_hash(salt, t, v) for t, v in held}))
    erasure_id = f"era_{uuid.uuid4().hex}"
    counts = {
        "timeline_events": await _deleted(
            conn, sa.delete(timeline_events).where(timeline_events.c.customer_id.in_(ids))
        ),
        "merges": await _deleted(
            conn,
            sa.delete(merges).where(
                sa.or_(merges.c.merged_id.in_(ids), merges.c.survivor_id.in_(ids))
            ),
        ),
        "identity_conflicts": await _deleted(
            conn,
            sa.delete(identity_conflicts).where(
                sa.or_(
                    identity_conflicts.c.customer_id.in_(ids),
                    _naming(identity_conflicts.c.id_type, identity_conflicts.c.id_value, held),
                )
            ),
        ),
        "identity_constraints": await _deleted(
            conn,
            sa.delete(identity_constraints).where(
                sa.or_(
                    _naming(identity_constraints.c.a_type, identity_constraints.c.a_value, held),
                    _naming(identity_constraints.c.b_type, identity_constraints.c.b_value, held),
                )
            ),
        ),
        "dead_letters": await _delete_dead_letters(conn, held),
    }
    await conn.execute(sa.delete(customer_channels).where(customer_channels.c.customer_id.in_(ids)))
    # Insight shares and signals name the customer; the daily totals hold only counts.
    for table in (insight_contributions, customer_signals):
        await conn.execute(sa.delete(table).where(table.c.customer_id.in_(ids)))
    counts["identifiers"] = await _deleted(
        conn, sa.delete(identifiers).where(identifiers.c.customer_id.in_(ids))
    )
    counts["customers"] = await _deleted(
        conn, sa.delete(customers).where(customers.c.customer_id.in_(ids))
    )
    if hashes:
        stmt = insert(erasure_tombstones).on_conflict_do_nothing(index_elements=["identifier_hash"])
        await conn.execute(stmt, [{"identifier_hash": h, "erasure_id": erasure_id} for h in hashes])
    result = ErasureResult(erasure_id, canonical, tombstones=hashes, **counts)
    await record_audit(
        conn,
        actor=actor,
        role=role,
        action=ERASE_ACTION,
        customer_id=canonical,
        detail={"erasure_id": erasure_id, "deleted": result.counts(), "tombstones": list(hashes)},
    )
    return result


async def _delete_dead_letters(conn: AsyncConnection, held: list[tuple[str, str]]) -> int:
    """Dead letters keyed by, or whose canonical bytes carry, one of the identifiers."""
    if not held:
        return 0
    conditions = []
    for id_type, value in held:
        conditions.append(dead_letters.c.key == f"{id_type}:{value}".encode())
        # The canonical wire form (orjson, compact) of the identifier object.
        quoted = sa.literal(f'"type":"{id_type}","value":"{value}"'.encode(), sa.LargeBinary)
        conditions.append(sa.func.position(quoted.op("IN")(dead_letters.c.original)) > 0)
    return await _deleted(conn, sa.delete(dead_letters).where(sa.or_(*conditions)))
