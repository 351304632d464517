"""Data-subject export: everything held on one customer, as one machine-readable document."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from profile_store.read.lineage import load_lineage
from profile_store.read.models import IdentifierRef, Lineage, Profile, TimelineItem, UtcDatetime
from profile_store.read.profile import load_profile
from profile_store.storage.audit import list_audit, record_audit
from profile_store.storage.connections import Db, transaction, use_connection
from profile_store.storage.tables import identity_conflicts, identity_constraints
from profile_store.storage.tables import timeline_events as te

EXPORT_FORMAT = "threadline.export.v1"
EXPORT_ACTION = "customer.exported"
#: The audit log may be long; the export carries its newest entries about the customer.
MAX_AUDIT_ENTRIES = 1000


class ExportedEvent(TimelineItem):
    """A timeline item as stored, with the identifiers the event carried."""

    identifiers: list[IdentifierRef] = Field(default_factory=list)
    claims: list[IdentifierRef] = Field(
        default_factory=list, description="What a browser source claimed without verification."
    )
    customer_id: str = Field(description="The (possibly merged-away) customer it was filed under.")
    origin_customer_id: str | None = None


class ConflictOut(BaseModel):
    """An identifier an event carried that was not linked, and why."""

    model_config = ConfigDict(frozen=True)

    type: str
    value: str
    event_id: str
    reason: str
    recorded_at: UtcDatetime


class ConstraintOut(BaseModel):
    """An admin decision about two identifiers: `separate` or `together`."""

    model_config = ConfigDict(frozen=True)

    kind: str
    a: IdentifierRef
    b: IdentifierRef
    actor: str
    reason: str
    created_at: UtcDatetime


class AuditOut(BaseModel):
    """Who viewed or changed this customer's data, and when."""

    model_config = ConfigDict(frozen=True)

    at: UtcDatetime
    actor: str
    role: str
    action: str
    detail: dict[str, Any]


class CustomerExport(BaseModel):
    """Everything Threadline holds on one person (GDPR article 15 / 20 style export)."""

    model_config = ConfigDict(frozen=True)

    format: str = EXPORT_FORMAT
    customer_id: str
    profile: Profile
    lineage: Lineage = Field(description="Each identifier's rule and event; each merge.")
    timeline: list[ExportedEvent] = Field(description="Every interaction, oldest first.")
    identity_conflicts: list[ConflictOut] = Field(default_factory=list)
    identity_constraints: list[ConstraintOut] = Field(default_factory=list)
    audit: list[AuditOut] = Field(default_factory=list)


async def export_audited(
    engine: AsyncEngine, customer_id: str, *, actor: str, role: str
) -> CustomerExport | None:
    """`export_customer` on one REPEATABLE READ snapshot, audited in the same transaction
    (the audit entry holds the number of events, never their content); None if unknown."""
    async with transaction(engine, "REPEATABLE READ") as conn:
        document = await export_customer(conn, customer_id)
        if document is not None:
            await record_audit(
                conn,
                actor=actor,
                role=role,
                action=EXPORT_ACTION,
                customer_id=document.customer_id,
                detail={"timeline_events": len(document.timeline)},
            )
        return document


async def export_customer(db: Db, customer_id: str) -> CustomerExport | None:
    """The export of the canonical customer behind `customer_id` (None if unknown).

    Run it on one snapshot (REPEATABLE READ) so every part describes the same moment.
    """
    async with use_connection(db) as conn:
        profile = await load_profile(conn, customer_id)
        lineage = await load_lineage(conn, customer_id)
        if profile is None or lineage is None:
            return None
        ids = [profile.customer_id, *profile.merged_ids]
        held = [(i.type, i.value) for i in profile.identifiers]
        events = await conn.execute(
            sa.select(te).where(te.c.customer_id.in_(ids)).order_by(te.c.occurred_at, te.c.id)
        )
        conflicts = await conn.execute(
            sa.select(identity_conflicts)
            .where(identity_conflicts.c.customer_id.in_(ids))
            .order_by(identity_conflicts.c.recorded_at)
        )
        pair_a = sa.tuple_(identity_constraints.c.a_type, identity_constraints.c.a_value)
        pair_b = sa.tuple_(identity_constraints.c.b_type, identity_constraints.c.b_value)
        constraints = await conn.execute(
            sa.select(identity_constraints)
            .where(sa.or_(pair_a.in_(held), pair_b.in_(held)) if held else sa.false())
            .order_by(identity_constraints.c.id)
        )
        audit = []
        for cid in ids:
            audit += await list_audit(conn, customer_id=cid, limit=MAX_AUDIT_ENTRIES)
    return CustomerExport(
        customer_id=profile.customer_id,
        profile=profile,
        lineage=lineage,
        timeline=[_event(e._mapping) for e in events],
        identity_conflicts=[
            ConflictOut(
                type=c.id_type,
                value=c.id_value,
                event_id=c.event_id,
                reason=c.reason,
                recorded_at=c.recorded_at,
            )
            for c in conflicts
        ],
        identity_constraints=[
            ConstraintOut(
                kind=c.kind,
                a=IdentifierRef(type=c.a_type, value=c.a_value),
                b=IdentifierRef(type=c.b_type, value=c.b_value),
                actor=c.actor,
                reason=c.reason,
                created_at=c.created_at,
            )
            for c in constraints
        ],
        audit=[
            AuditOut(at=a.at, actor=a.actor, role=a.role, action=a.action, detail=a.detail)
            for a in sorted(audit, key=lambda a: a.id)
        ],
    )


def _event(row: Any) -> ExportedEvent:
    return ExportedEvent.model_validate({**row, "claims": row["claims"] or []})
