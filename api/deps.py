"""FastAPI dependencies for settings and database connections, as `Annotated` aliases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import psycopg
import structlog
from fastapi import Depends, Request, params
from fastapi.dependencies.utils import get_flat_params
from fastapi.routing import APIRoute
from psycopg_pool import PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from api import ApiError
from api.errors import DatabaseUnavailable, ServiceUnavailable
from api.settings import ApiSettings
from profile_store.storage.driver import PgConnection, ReadPool

log = structlog.get_logger()


# Dependencies are `async def` even where they do not await: FastAPI runs a plain `def`
# dependency in a thread pool, a hand-off per request that showed in the profile.
async def get_settings(request: Request) -> ApiSettings:
    """The settings the app was created with."""
    settings: ApiSettings = request.app.state.settings
    return settings


async def get_engine(request: Request) -> AsyncEngine:
    """The app's engine (503 before the lifespan started it)."""
    engine: AsyncEngine | None = getattr(request.app.state, "engine", None)
    if engine is None:
        raise ServiceUnavailable("the database engine is not started")
    return engine


@asynccontextmanager
async def read_snapshot(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A read-only REPEATABLE READ connection: one consistent snapshot for several queries."""
    async with engine.connect() as conn:
        yield await conn.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )


@asynccontextmanager
async def read_statement(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for a read that is one statement (one snapshot by itself): autocommit,
    so it costs no BEGIN and ROLLBACK round trips."""
    async with engine.connect() as conn:
        yield await conn.execution_options(isolation_level="AUTOCOMMIT")


async def db_connection(
    engine: Annotated[AsyncEngine, Depends(get_engine)],
) -> AsyncIterator[AsyncConnection]:
    """`read_snapshot` as a dependency. It connects before query parameters are validated, so
    routes that should answer 4xx while the database is down use `EngineDep` instead."""
    async with read_snapshot(engine) as conn:
        yield conn


@asynccontextmanager
async def agent_connection(pool: ReadPool | None) -> AsyncIterator[PgConnection]:
    """A pooled autocommit psycopg connection for the agent's hot reads (`storage.driver`).

    503 when none comes within `db_wait` seconds or the database fails under it. A failure
    also checks the pool's idle connections, so after a database restart the stale ones are
    replaced at once instead of each failing a request of its own.
    """
    if pool is None:
        raise ServiceUnavailable("the database pool is not started")
    try:
        async with pool.connection() as conn:
            yield conn
    except PoolTimeout:
        log.warning("database_unavailable", error_type="PoolTimeout")
        raise DatabaseUnavailable("the database is unavailable") from None
    except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
        log.warning("database_unavailable", error_type=type(exc).__name__)
        await pool.check()
        raise DatabaseUnavailable("the database is unavailable") from None


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


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
EngineDep = Annotated[AsyncEngine, Depends(get_engine)]
DbConn = Annotated[AsyncConnection, Depends(db_connection)]
