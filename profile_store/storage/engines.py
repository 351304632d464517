"""Database URLs and engines (async for the services, sync for migrations and tools)."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from profile_store.storage.errors import StoreRefused, StoreUnavailable, store_errors
from profile_store.storage.pg_arrays import use_fast_str_lists

#: The handle the entry points hold and pass back to `profile_store` (they never use it).
StoreEngine = AsyncEngine


def sqlalchemy_url(url: str) -> str:
    """Accept `postgres://`, `postgresql://` or a SQLAlchemy URL; always use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgresql+psycopg2", "postgresql+asyncpg"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def make_async_engine(
    url: str, pool_size: int = 5, max_overflow: int = 5, pre_ping: bool = True
) -> AsyncEngine:
    """An async engine with a bounded pool that survives database restarts.

    With `pre_ping` every checkout first tests the connection (one round trip). Without it a
    restart costs one failed statement: SQLAlchemy sees the disconnect and replaces every
    connection made before it, so callers that answer that failure (the API's 503) recover
    on the next request. The API, whose reads are one statement each, takes that trade.
    """
    engine = create_async_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=pre_ping,
        pool_recycle=1800,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
    )
    event.listen(engine.sync_engine, "connect", _on_connect)
    return engine


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    use_fast_str_lists(dbapi_connection.driver_connection.adapters)


def make_sync_engine(url: str) -> Engine:
    """A sync engine for migrations and command-line tools."""
    return create_engine(
        sqlalchemy_url(url),
        pool_pre_ping=True,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
    )


async def database_reachable(engine: AsyncEngine, seconds: float) -> bool:
    """True if `SELECT 1` succeeds within `seconds` (readiness probes)."""
    try:
        async with store_errors, asyncio.timeout(seconds), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except (StoreUnavailable, StoreRefused):
        return False
    return True


def database_answers(url: str) -> bool:
    """True if the database at `url` answers `SELECT 1` now (start-up waits)."""
    engine = make_sync_engine(url)
    try:
        with store_errors, engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (StoreUnavailable, StoreRefused):
        return False
    finally:
        engine.dispose()
    return True


def check_database_url(url: str) -> None:
    """Raise `ValueError` unless `url` is a PostgreSQL URL (settings validation)."""
    try:
        parsed = make_url(sqlalchemy_url(url))
    except ArgumentError:
        raise ValueError("database_url is not a database URL") from None
    if parsed.get_backend_name() != "postgresql":
        raise ValueError("database_url must be a PostgreSQL URL (postgresql://...)")
