"""Getting a connection: the caller's own, one checked out of an engine, the psycopg connection
under a SQLAlchemy one (which shares its transaction and snapshot), or one of the agent's read
pool. The helpers that check a connection out are the storage boundary: driver errors leave
them as the store's own exceptions (`profile_store.storage.errors`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from psycopg_pool import PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from profile_store.storage.driver import PgConnection, ReadPool, driver_of
from profile_store.storage.errors import StoreUnavailable, store_errors

#: What the store's functions accept: an engine (they check out a connection for the call) or
#: a connection (they run in its transaction).
Db = AsyncEngine | AsyncConnection


@asynccontextmanager
async def use_connection(db: Db) -> AsyncIterator[AsyncConnection]:
    """Use the given connection, or check one out of the engine for the duration."""
    if isinstance(db, AsyncConnection):
        yield db
        return
    async with store_errors, db.connect() as conn:
        yield conn


@asynccontextmanager
async def on_driver(db: Db | PgConnection) -> AsyncIterator[PgConnection]:
    """A psycopg connection: `db` itself, or the one under a SQLAlchemy connection (sharing
    its transaction), or one checked out of the engine for the duration."""
    if isinstance(db, psycopg.AsyncConnection):
        yield db
        return
    async with use_connection(db) as conn:
        yield await driver_of(conn)


@asynccontextmanager
async def read_snapshot(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A read-only REPEATABLE READ connection: one consistent snapshot for several queries."""
    async with store_errors, engine.connect() as conn:
        yield await conn.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )


@asynccontextmanager
async def read_statement(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for a read that is one statement (one snapshot by itself): autocommit,
    so it costs no BEGIN and ROLLBACK round trips."""
    async with store_errors, engine.connect() as conn:
        yield await conn.execution_options(isolation_level="AUTOCOMMIT")


@asynccontextmanager
async def transaction(
    engine: AsyncEngine, isolation_level: str | None = None
) -> AsyncIterator[AsyncConnection]:
    """A connection in a transaction committed when the block ends (rolled back if it
    raises); `isolation_level` e.g. "REPEATABLE READ" for one snapshot."""
    async with store_errors, engine.connect() as plain:
        conn = plain
        if isolation_level is not None:
            conn = await plain.execution_options(isolation_level=isolation_level)
        async with conn.begin():
            yield conn


@asynccontextmanager
async def pooled(pool: ReadPool) -> AsyncIterator[PgConnection]:
    """A pooled autocommit psycopg connection for the agent's hot reads (`storage.driver`).

    `StoreUnavailable` when none comes within the pool's timeout or the database fails under
    it. A failure also checks the pool's idle connections, so after a database restart the
    stale ones are replaced at once instead of each failing a request of its own.
    """
    try:
        async with store_errors, pool.connection() as conn:
            yield conn
    except StoreUnavailable as exc:
        if not isinstance(exc.__cause__, PoolTimeout):
            await pool.check()
        raise


@asynccontextmanager
async def snapshot(conn: PgConnection) -> AsyncIterator[PgConnection]:
    """A read-only REPEATABLE READ transaction on an autocommit psycopg connection: several
    statements that see one consistent moment."""
    async with conn.transaction():
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield conn
