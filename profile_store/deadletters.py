"""Durable dead-letter store: every record that could not be processed, with its original bytes."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from profile_store.read.types import UtcDatetime
from profile_store.storage.connections import Db, use_connection
from profile_store.storage.errors import store_errors
from profile_store.storage.tables import dead_letters
from schemas.deadletter import DeadLetter, Failure
from schemas.events import utc_now

MAX_LIST = 500


def fingerprint(letter: DeadLetter) -> str:
    """Same component and same bytes: the same dead letter seen again."""
    digest = hashlib.sha256(letter.component.value.encode())
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
            "component": d.component.value,
            "failure_type": d.failure.type.value,
            "error": d.failure.message,
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
            "failure_type": stmt.excluded.failure_type,
            "error": stmt.excluded.error,
            "replayed_at": None,
        },
    )
    async with store_errors, engine.begin() as conn:
        await conn.execute(stmt, list(rows.values()))


class DeadLetterOut(BaseModel):
    """A stored dead letter, without its bytes (those may hold PII: see `DeadLetterDetail`)."""

    model_config = ConfigDict(frozen=True)

    id: int
    component: str = Field(description="`worker.decode` or `worker.write`.")
    failure: Failure
    error: str = Field(description="The failure's message (as `failure.message`).")
    topic: str | None
    partition: int | None
    offset: int | None
    event_id: str | None
    first_seen: UtcDatetime
    last_seen: UtcDatetime
    attempts: int
    replayed_at: UtcDatetime | None
    size: int = Field(description="Length of the original record in bytes.")


class DeadLetterDetail(DeadLetterOut):
    """A dead letter with its original record and key, base64-encoded."""

    original_b64: str
    key_b64: str | None


def _typed(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A stored row's columns with its failure as one object."""
    data = dict(row)
    data["failure"] = Failure(type=data.pop("failure_type"), message=data["error"])
    return data


def _summary_columns() -> list[Any]:
    return [c for c in dead_letters.c if c.name not in ("original", "key", "fingerprint")] + [
        sa.func.octet_length(dead_letters.c.original).label("size")
    ]


async def list_dead_letters(
    conn: AsyncConnection,
    *,
    pending_only: bool = True,
    component: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[DeadLetterOut]:
    """Newest first; `pending_only` hides replayed letters; page with `before_id`."""
    query = (
        sa.select(*_summary_columns())
        .order_by(dead_letters.c.id.desc())
        .limit(max(1, min(limit, MAX_LIST)))
    )
    if pending_only:
        query = query.where(dead_letters.c.replayed_at.is_(None))
    if component is not None:
        query = query.where(dead_letters.c.component == component)
    if before_id is not None:
        query = query.where(dead_letters.c.id < before_id)
    return [DeadLetterOut(**_typed(row._mapping)) for row in await conn.execute(query)]


async def get_dead_letter(conn: AsyncConnection, letter_id: int) -> DeadLetterDetail | None:
    """One dead letter with its bytes, or None."""
    row = (
        await conn.execute(
            sa.select(*_summary_columns(), dead_letters.c.original, dead_letters.c.key).where(
                dead_letters.c.id == letter_id
            )
        )
    ).first()
    if row is None:
        return None
    data = _typed(row._mapping)
    original, key = data.pop("original"), data.pop("key")
    return DeadLetterDetail(
        **data,
        original_b64=base64.b64encode(bytes(original)).decode(),
        key_b64=base64.b64encode(bytes(key)).decode() if key is not None else None,
    )


async def mark_replayed(
    conn: AsyncConnection, letter_ids: Sequence[int], at: datetime | None = None
) -> int:
    """Stamp `replayed_at` (a later failure of the same bytes clears it again)."""
    if not letter_ids:
        return 0
    result = await conn.execute(
        sa.update(dead_letters)
        .where(dead_letters.c.id.in_(list(letter_ids)))
        .values(replayed_at=at or utc_now())
    )
    return int(result.rowcount or 0)


async def pending_depth(db: Db) -> dict[str, int]:
    """Dead letters not replayed yet, per component."""
    async with use_connection(db) as conn:
        rows = await conn.execute(
            sa.select(dead_letters.c.component, sa.func.count())
            .where(dead_letters.c.replayed_at.is_(None))
            .group_by(dead_letters.c.component)
        )
        return {str(c): int(n) for c, n in rows}
