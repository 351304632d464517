"""Getting a connection: the caller's own, one checked out of an engine, or the psycopg
connection under a SQLAlchemy one (which shares its transaction and snapshot)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from profile_store.storage.driver import PgConnection, driver_of

#: What the store's functions accept: an engine (they check out a connection for the call) or
#: a connection (they run in its transaction).
Db = AsyncEngine | AsyncConnection


@asynccontextmanager
async def use_connection(db: Db) -> AsyncIterator[AsyncConnection]:
    """Use the given connection, or check one out of the engine for the duration."""
    if isinstance(db, AsyncConnection):
        yield db
        return
    async with db.connect() as conn:
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
