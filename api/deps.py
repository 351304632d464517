"""FastAPI dependencies for settings and database connections, as `Annotated` aliases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from api.errors import ServiceUnavailable
from api.settings import ApiSettings


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


async def db_connection(
    engine: Annotated[AsyncEngine, Depends(get_engine)],
) -> AsyncIterator[AsyncConnection]:
    """`read_snapshot` as a dependency. It connects before query parameters are validated, so
    routes that should answer 4xx while the database is down use `EngineDep` instead."""
    async with read_snapshot(engine) as conn:
        yield conn


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
EngineDep = Annotated[AsyncEngine, Depends(get_engine)]
DbConn = Annotated[AsyncConnection, Depends(db_connection)]
