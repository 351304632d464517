"""Read side of merge lineage: why a profile holds each identifier and whom it absorbed."""

from __future__ import annotations

import sqlalchemy as sa

from profile_store.read.models import ConflictOut, IdentifierRef, Lineage, LinkOut, MergeOut
from profile_store.storage.connections import Db, use_connection
from profile_store.storage.survivor import survivor_of
from profile_store.storage.tables import customers, identifiers, identity_conflicts, merges


async def load_lineage(db: Db, customer_id: str) -> Lineage | None:
    """Links and merges of the canonical customer behind `customer_id`; None if unknown."""
    canonical = await survivor_of(db, customer_id)
    if canonical is None:
        return None
    async with use_connection(db) as conn:
        links = await conn.execute(
            sa.select(
                identifiers.c.id_type,
                identifiers.c.id_value,
                identifiers.c.rule,
                identifiers.c.event_id,
                identifiers.c.first_seen,
            )
            .where(identifiers.c.customer_id == canonical)
            .order_by(identifiers.c.first_seen, identifiers.c.id_type, identifiers.c.id_value)
        )
        # Survivors recorded in older merges may themselves have been merged since.
        absorbed = sa.select(customers.c.customer_id).where(customers.c.merged_into == canonical)
        rows = await conn.execute(
            sa.select(merges)
            .where(sa.or_(merges.c.survivor_id == canonical, merges.c.survivor_id.in_(absorbed)))
            .order_by(merges.c.merged_at, merges.c.id)
        )
        refused = await conn.execute(
            sa.select(
                identity_conflicts.c.id_type,
                identity_conflicts.c.id_value,
                identity_conflicts.c.event_id,
                identity_conflicts.c.reason,
            )
            .where(identity_conflicts.c.customer_id == canonical)
            .order_by(identity_conflicts.c.recorded_at, identity_conflicts.c.event_id)
            .limit(500)
        )
        return Lineage(
            customer_id=canonical,
            links=[
                LinkOut(type=t, value=v, rule=r, event_id=e, first_seen=f)
                for t, v, r, e, f in links
            ],
            merges=[
                MergeOut(
                    merged_id=m.merged_id,
                    survivor_id=m.survivor_id,
                    rule=m.rule,
                    event_id=m.event_id,
                    identifiers=[IdentifierRef(**i) for i in m.identifiers],
                    merged_at=m.merged_at,
                )
                for m in rows
            ],
            conflicts=[
                ConflictOut(type=t, value=v, event_id=e, reason=r) for t, v, e, r in refused
            ],
        )
