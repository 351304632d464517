"""Durable dead-letter store: every record that could not be processed, with its original bytes."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from profile_store.models import dead_letters
from schemas.deadletter import DeadLetter


def fingerprint(letter: DeadLetter) -> str:
    """Same component and same bytes: the same dead letter seen again."""
    digest = hashlib.sha256(letter.component.encode())
    digest.update(b"\0")
    digest.update(letter.original)
    return digest.hexdigest()


async def record_dead_letters(engine: AsyncEngine, letters: Sequence[DeadLetter]) -> None:
    """Store dead letters; a repeat of a known one bumps `attempts` and `last_seen`."""
    if not letters:
        return
    rows = {
        fingerprint(d): {
            "fingerprint": fingerprint(d),
            "component": d.component,
            "error": d.error,
            "original": d.original,
            "topic": d.topic,
            "partition": d.partition,
            "offset": d.offset,
            "key": d.key,
            "event_id": d.event_id,
            "first_seen": d.first_seen,
            "last_seen": d.last_seen,
            "attempts": d.attempts,
        }
        for d in letters
    }
    stmt = insert(dead_letters)
    stmt = stmt.on_conflict_do_update(
        index_elements=["fingerprint"],
        set_={
            "attempts": dead_letters.c.attempts + stmt.excluded.attempts,
            "last_seen": sa.func.greatest(dead_letters.c.last_seen, stmt.excluded.last_seen),
            "error": stmt.excluded.error,
            "replayed_at": None,
        },
    )
    async with engine.begin() as conn:
        await conn.execute(stmt, list(rows.values()))
