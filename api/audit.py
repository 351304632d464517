"""Audit trail: every lookup, search and profile read is recorded (who, when, which customer),
and admins read it back at `GET /v1/audit`.

Entries never hold identifier values or names: a lookup records the identifier *type*, a
search the kinds of match it tried. The entry is written before the answer is sent, in its
own one-statement transaction with `synchronous_commit` off (durable within the WAL writer's
delay, typically under a second), so an audited read costs one round trip and no disk flush.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from api.auth import (
    AdminPrincipal,
    BearerCredentials,
    Principal,
    authorise,
    current_principal,
)
from api.deps import (
    EngineDep,
    agent_connection,
    get_engine,
    read_snapshot,
    reject_unknown_query,
)
from api.errors import ErrorBody
from api.params import PRINTABLE
from api.settings import KEY_NAME_PATTERN, ApiSettings
from profile_store.read.view_models import AuditEntryOut, AuditPage
from profile_store.storage.audit import list_audit, record_read
from profile_store.storage.driver import PgConnection, ReadPool

MAX_AUDIT_PAGE: Final = 500


class Auditor:
    """Records the current caller's reads."""

    def __init__(self, pool: ReadPool | None, principal: Principal) -> None:
        self.pool, self.principal = pool, principal

    async def record(
        self,
        action: str,
        customer_id: str | None = None,
        detail: Mapping[str, Any] | None = None,
        conn: PgConnection | None = None,
    ) -> None:
        """Append one entry; raises (and so fails the request) if it cannot be stored.

        `conn`, the request's connection from `agent_connection`, saves a checkout; without it
        the entry gets a connection of its own.
        """
        if conn is not None:
            await self._append(conn, action, customer_id, detail)
            return
        async with agent_connection(self.pool) as own:
            await self._append(own, action, customer_id, detail)

    async def _append(
        self,
        conn: PgConnection,
        action: str,
        customer_id: str | None,
        detail: Mapping[str, Any] | None,
    ) -> None:
        await record_read(
            conn,
            actor=self.principal.name,
            role=self.principal.role,
            action=action,
            customer_id=customer_id,
            detail=detail,
        )


async def get_auditor(
    request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> Auditor:
    """An `Auditor` for the authenticated caller."""
    return Auditor(request.app.state.read_pool, principal)


AuditDep = Annotated[Auditor, Depends(get_auditor)]


@dataclass(frozen=True)
class AgentRead:
    """What an agent's audited read needs: the caller (role agent or admin), the engine, the
    read pool (`connection()`), the settings and an `Auditor`."""

    principal: Principal
    engine: AsyncEngine
    pool: ReadPool | None
    settings: ApiSettings
    audit: Auditor

    def connection(self) -> AbstractAsyncContextManager[PgConnection]:
        """A pooled autocommit psycopg connection (`agent_connection`)."""
        return agent_connection(self.pool)


async def agent_read(request: Request, credentials: BearerCredentials) -> AgentRead:
    """`AgentPrincipal`, `EngineDep`, `SettingsDep` and `AuditDep` as one dependency: the
    routes an agent calls on every caller take this, because FastAPI's cost grows with the
    number of dependencies it solves per request."""
    principal = authorise(await current_principal(request, credentials), "agent")
    engine, pool = await get_engine(request), request.app.state.read_pool
    auditor = Auditor(pool, principal)
    return AgentRead(principal, engine, pool, request.app.state.settings, auditor)


AgentReadDep = Annotated[AgentRead, Depends(agent_read)]

router = APIRouter(
    prefix="/v1",
    tags=["audit"],
    dependencies=[Depends(reject_unknown_query)],
    responses={
        401: {"model": ErrorBody, "description": "Missing or invalid API key."},
        403: {"model": ErrorBody, "description": "Only role admin reads the audit trail."},
        422: {"model": ErrorBody, "description": "A parameter is invalid (named in the message)."},
        503: {"model": ErrorBody, "description": "The database is unavailable."},
    },
)


@router.get("/audit", response_model=AuditPage, summary="Who read which customer, newest first")
async def read_audit(
    principal: AdminPrincipal,
    engine: EngineDep,
    customer_id: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            pattern=PRINTABLE,
            description="Only entries about this customer.",
        ),
    ] = None,
    actor: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=64,
            pattern=KEY_NAME_PATTERN,
            description="Only entries by this API key name.",
        ),
    ] = None,
    before: Annotated[
        int | None,
        Query(ge=1, le=2**63 - 1, description="The previous page's `next_before`."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_AUDIT_PAGE, description="Page size.")] = 100,
) -> AuditPage:
    """Audit entries (role admin): lookups, searches, profile and timeline reads, streams."""
    async with read_snapshot(engine) as conn:
        entries = await list_audit(
            conn, customer_id=customer_id, actor=actor, before_id=before, limit=limit
        )
    items = [AuditEntryOut.model_validate(e, from_attributes=True) for e in entries]
    return AuditPage(items=items, next_before=items[-1].id if len(items) == limit else None)
