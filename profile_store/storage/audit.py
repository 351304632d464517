"""Audit log: who viewed or changed which customer's data, and when."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from psycopg.types.json import Jsonb
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from profile_store.storage.driver import PgConnection, psycopg_sql
from profile_store.storage.tables import audit_log


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


# One statement that is also its own transaction on an autocommit connection: the CTE turns
# synchronous_commit off for just this transaction (durable within the WAL writer's delay,
# typically under a second) before the row is inserted, so an audited read costs one round
# trip and no disk flush.
_APPEND_LAZILY: Final = psycopg_sql(
    sa.text(
        "WITH lazy AS (SELECT set_config('synchronous_commit', 'off', true)) "
        "INSERT INTO audit_log (actor, role, action, customer_id, detail) "
        "SELECT :actor, :role, :action, :customer_id, :detail FROM lazy"
    ).bindparams(sa.bindparam("detail", type_=JSONB))
)


def _row(
    actor: str, role: str, action: str, customer_id: str | None, detail: Mapping[str, Any] | None
) -> dict[str, Any]:
    return {
        "actor": actor,
        "role": role,
        "action": action,
        "customer_id": customer_id,
        "detail": dict(detail or {}),
    }


async def record_audit(
    conn: AsyncConnection,
    *,
    actor: str,
    role: str,
    action: str,
    customer_id: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Append one entry in the caller's transaction (changes are audited with the change).
    Keep PII out of `detail`."""
    entry = _row(actor, role, action, customer_id, detail)
    await conn.execute(sa.insert(audit_log).values(**entry))


async def record_read(
    conn: PgConnection,
    *,
    actor: str,
    role: str,
    action: str,
    customer_id: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Append one entry for a read on an autocommit psycopg connection: its own one-statement
    transaction, committed without waiting for the disk flush. Keep PII out of `detail`."""
    entry = _row(actor, role, action, customer_id, detail)
    entry["detail"] = Jsonb(entry["detail"])
    await conn.execute(_APPEND_LAZILY, entry)


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
