"""Per-customer and per-identifier locks for stitching, and the one lock-until-stable loop.

A batch (or an admin operation, or an erasure) locks every customer and identifier it may
touch, as PostgreSQL session advisory locks taken in one ascending pass. Everyone takes locks
in the same order, so no two writers wait on each other in a cycle. When a re-read under the
locks shows more is needed (a concurrent merge moved an identifier), everything is released
and the larger set taken, again in one ascending pass: a release, never a deadlock or a retry
of one.

Every lock set starts with the store-wide key, held shared, so writers of unrelated customers
never wait on each other. A set larger than `MAX_LOCK_KEYS` (a re-derivation of thousands of
connected customers) takes the store-wide key exclusively instead, alone: one lock-table entry
however large the set, while other writers wait for it to finish.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from profile_store.storage.errors import IdentityBusy
from profile_store.storage.survivor import survivor_of
from schemas.identifiers import Identifier

#: Rounds of "lock, re-read, need more" before giving up as busy (`IdentityBusy`, transient).
MAX_LOCK_ROUNDS = 50
#: Above this many keys a lock set is taken as the store-wide key, exclusively. An ordinary
#: batch (at most 1,000 events per transaction: a customer and a new identifier or two each)
#: stays under it, so two workers' locks fit PostgreSQL's default lock table (6,400 entries).
MAX_LOCK_KEYS = 3_000

T = TypeVar("T")


def _key(text: str) -> int:
    return int.from_bytes(
        hashlib.blake2b(text.encode(), digest_size=8).digest(), "big", signed=True
    )


def customer_key(customer_id: str) -> int:
    """Lock key of a customer."""
    return _key(f"c\x1f{customer_id}")


def identifier_key(ident: Identifier) -> int:
    """Lock key of an identifier (guards creating its first owner)."""
    return _key(f"i\x1f{ident.type}\x1f{ident.value}")


def lock_keys(customers: Iterable[str], idents: Iterable[Identifier]) -> frozenset[int]:
    """The keys for a set of customers and identifiers."""
    return frozenset(customer_key(c) for c in customers) | frozenset(
        identifier_key(i) for i in idents
    )


#: Every stitching lock set holds this key: shared, or exclusively for a set too large to take.
STORE_KEY = _key("s\x1fstore")
_ACQUIRE = sa.text(
    "SELECT count(CASE WHEN k.o = 0 THEN pg_advisory_lock_shared(k.k) "
    "ELSE pg_advisory_lock(k.k) END) FROM (SELECT 0 AS o, CAST(:store AS bigint) AS k "
    "UNION ALL SELECT 1, unnest(CAST(:keys AS bigint[])) ORDER BY o, k) AS k"
)


async def acquire(conn: AsyncConnection, keys: Iterable[int]) -> None:
    """Take the store-wide key shared, then session advisory locks on `keys` in ascending
    order, in one statement, waiting as needed."""
    await conn.execute(_ACQUIRE, {"store": STORE_KEY, "keys": sorted(set(keys))})


async def acquire_store(conn: AsyncConnection) -> None:
    """Take the store-wide key exclusively: no other stitching lock set is held meanwhile."""
    await conn.execute(sa.select(sa.func.pg_advisory_lock(STORE_KEY)))


async def release_all(conn: AsyncConnection) -> None:
    """Release every session advisory lock this connection holds."""
    await conn.execute(sa.select(sa.func.pg_advisory_unlock_all()))


async def release_connection(conn: AsyncConnection) -> None:
    """Roll back what is left and release the locks; drop the connection if that fails."""
    try:
        await conn.rollback()
        await release_all(conn)
        await conn.commit()
    except Exception:  # a connection that cannot unlock must not be reused
        await conn.invalidate()


async def lock_until_stable(
    conn: AsyncConnection, read: Callable[[], Awaitable[tuple[T, frozenset[int]]]]
) -> T:
    """Lock what `read` says it needs, and read again under the locks until they cover it.

    `read` returns what it read and the lock keys that reading depends on (taken with the
    store-wide key shared, or as the store-wide key alone past `MAX_LOCK_KEYS`). When a
    re-read under the locks needs more (a concurrent merge moved something), everything is
    released and the larger set taken in one ascending pass: a release, never a deadlock. Raises
    `IdentityBusy` when it has not settled after `MAX_LOCK_ROUNDS` rounds. The locks are the
    session's until `release_connection`.
    """
    locked: frozenset[int] = frozenset()
    store_wide = False
    for _ in range(MAX_LOCK_ROUNDS):
        value, needed = await read()
        if store_wide or needed <= locked:
            return value
        if locked:
            await release_all(conn)
        locked |= needed
        store_wide = len(locked) > MAX_LOCK_KEYS
        if store_wide:
            await acquire_store(conn)
        else:
            await acquire(conn, locked)
    raise IdentityBusy(f"what to lock kept changing over {MAX_LOCK_ROUNDS} rounds; retry")


async def lock_customer(conn: AsyncConnection, customer_id: str) -> str | None:
    """Lock the canonical customer behind `customer_id` (session lock, released by
    `release_connection`); its canonical id, or None if there is no such customer."""

    async def read() -> tuple[str | None, frozenset[int]]:
        canonical = await survivor_of(conn, customer_id)
        return canonical, lock_keys(() if canonical is None else (canonical,), ())

    return await lock_until_stable(conn, read)
