"""Audit log: who viewed or changed which customer's data, and when."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from profile_store.models import audit_log


@dataclass(frozen=True)
class AuditEntry:
    """One audited action, as read back for admins."""

    id: int
    at: datetime
    actor: str
    role: str
    action: str
    customer_id: str | None
    detail: dict[str, Any]


async def record_audit(
    conn: AsyncConnection,
    *,
    actor: str,
    role: str,
    action: str,
    customer_id: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Append one entry (in the caller's transaction). Keep PII out of `detail`."""
    await conn.execute(
        sa.insert(audit_log).values(
            actor=actor,
            role=role,
            action=action,
            customer_id=customer_id,
            detail=dict(detail or {}),
        )
    )


async def list_audit(
    conn: AsyncConnection,
    *,
    customer_id: str | None = None,
    actor: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """Newest first, optionally for one customer or actor; page with `before_id`."""
    query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if customer_id is not None:
        query = query.where(audit_log.c.customer_id == customer_id)
    if actor is not None:
        query = query.where(audit_log.c.actor == actor)
    if before_id is not None:
        query = query.where(audit_log.c.id < before_id)
    rows = await conn.execute(query)
    return [AuditEntry(**row._mapping) for row in rows]
