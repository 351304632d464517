"""The worker's dead-letter depth gauge against the real database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import update

from profile_store.deadletters import record_dead_letters
from profile_store.storage.engines import make_async_engine
from profile_store.storage.tables import dead_letters
from schemas.deadletter import Component, DeadLetter, Failure, FailureType
from services.probes import refresh_dead_letter_depth

pytestmark = pytest.mark.integration


def gauge(component: str) -> float | None:
    return REGISTRY.get_sample_value("threadline_dead_letters_pending", {"component": component})


async def test_depth_counts_unreplayed_dead_letters_by_component(clean_db: str) -> None:
    engine = make_async_engine(clean_db, pool_size=1)
    now = datetime.now(UTC)
    letters = [
        DeadLetter.of(
            Component.WORKER_DECODE,
            Failure(type=FailureType.INVALID_EVENT, message="not JSON"),
            b"\xff1",
            now,
        ),
        DeadLetter.of(
            Component.WORKER_DECODE,
            Failure(type=FailureType.INVALID_EVENT, message="not JSON"),
            b"\xff2",
            now,
        ),
        DeadLetter.of(
            Component.WORKER_WRITE,
            Failure(type=FailureType.DATABASE_REFUSED, message="check violation"),
            b"{}",
            now,
        ),
    ]
    try:
        await record_dead_letters(engine, letters)
        assert await refresh_dead_letter_depth(engine) == {"worker.decode": 2, "worker.write": 1}
        assert (gauge("worker.decode"), gauge("worker.write")) == (2, 1)
        async with engine.begin() as conn:
            await conn.execute(
                update(dead_letters)
                .where(dead_letters.c.component == "worker.write")
                .values(replayed_at=now)
            )
        assert await refresh_dead_letter_depth(engine) == {"worker.decode": 2}
        assert gauge("worker.write") == 0
    finally:
        await engine.dispose()
