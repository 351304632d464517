"""FastAPI dependencies in one place, as `Annotated` aliases: settings, the store's handles,
unknown-parameter refusal, the auditor, and `AgentRead`, what an agent's audited read needs.

Two database stacks serve the API, one per request path: the agent's reads (lookup, profile,
timeline, links, search, live stream) and their audit entries run on the psycopg read pool
(`AgentRead.connection`); admin, privacy, insight and audit-trail routes run on the engine
(`EngineDep`) through `profile_store`'s own functions. No route mixes the two.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, params
from fastapi.dependencies.utils import get_flat_params
from fastapi.routing import APIRoute

from api import ApiError
from api.auth import BearerCredentials, Principal, authorise, current_principal
from api.errors import ServiceUnavailable
from api.settings import ApiSettings
from profile_store.storage.audit import record_read
from profile_store.storage.connections import pooled
from profile_store.storage.driver import PgConnection, ReadPool
from profile_store.storage.engines import StoreEngine


# Dependencies are `async def` even where they do not await: FastAPI runs a plain `def`
# dependency in a thread pool, a hand-off per request that showed in the profile.
async def get_settings(request: Request) -> ApiSettings:
    """The settings the app was created with."""
    settings: ApiSettings = request.app.state.settings
    return settings


async def get_engine(request: Request) -> StoreEngine:
    """The app's engine (503 before the lifespan started it)."""
    engine: StoreEngine | None = getattr(request.app.state, "engine", None)
    if engine is None:
        raise ServiceUnavailable("the database engine is not started")
    return engine


def read_connection(pool: ReadPool | None) -> AbstractAsyncContextManager[PgConnection]:
    """A pooled autocommit psycopg connection for the agent's reads (503 before the lifespan
    opened the pool; `StoreUnavailable`, a 503, when none comes in time)."""
    if pool is None:
        raise ServiceUnavailable("the database pool is not started")
    return pooled(pool)


class UnknownParameter(ApiError):
    """A query parameter the route does not take, e.g. a misspelt filter (422)."""

    status_code = 422
    code = "validation_error"


def _declared(request: Request, route: APIRoute) -> frozenset[str]:
    """The query parameter names `route` declares (cached per app, per route)."""
    cache: dict[tuple[str, str], frozenset[str]] | None = getattr(
        request.app.state, "declared_params", None
    )
    if cache is None:
        cache = request.app.state.declared_params = {}
    key = (route.path, ",".join(sorted(route.methods or ())))
    if key not in cache:
        fields = get_flat_params(route.dependant)
        cache[key] = frozenset(f.alias for f in fields if isinstance(f.field_info, params.Query))
    return cache[key]


async def reject_unknown_query(request: Request) -> None:
    """Refuse query parameters the route does not declare, so a misspelt filter
    (`chanel=email`) is an error instead of silently returning everything."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known = _declared(request, route)
    if any(name not in known for name in request.query_params):
        # The unknown names are not echoed: a mistyped name may be a customer's email.
        takes = ", ".join(sorted(known)) or "no query parameters"
        raise UnknownParameter(f"query: unknown parameter; this route takes {takes}")


class Auditor:
    """Records the current caller's reads, on the connection the read used."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    async def record(
        self,
        action: str,
        customer_id: str | None = None,
        detail: Mapping[str, Any] | None = None,
        *,
        conn: PgConnection,
    ) -> None:
        """Append one entry on `conn` (the request's read connection); raises, and so fails
        the request, if it cannot be stored."""
        await record_read(
            conn,
            actor=self.principal.name,
            role=self.principal.role,
            action=action,
            customer_id=customer_id,
            detail=detail,
        )


@dataclass(frozen=True)
class AgentRead:
    """What an agent's audited read needs: the caller (role agent or admin), the read pool
    (`connection()`), the settings and an `Auditor`."""

    principal: Principal
    pool: ReadPool | None
    settings: ApiSettings
    audit: Auditor

    def connection(self) -> AbstractAsyncContextManager[PgConnection]:
        """A pooled autocommit psycopg connection (`read_connection`)."""
        return read_connection(self.pool)


async def agent_read(request: Request, credentials: BearerCredentials) -> AgentRead:
    """The caller (role agent), the read pool, the settings and an `Auditor` as one
    dependency: the routes an agent calls on every caller take this, because FastAPI's cost
    grows with the number of dependencies it solves per request."""
    principal = authorise(await current_principal(request, credentials), "agent")
    state = request.app.state
    return AgentRead(principal, state.read_pool, state.settings, Auditor(principal))


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
EngineDep = Annotated[StoreEngine, Depends(get_engine)]
AgentReadDep = Annotated[AgentRead, Depends(agent_read)]
