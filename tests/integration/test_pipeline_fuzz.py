"""Fuzz the worker's batch handler against real PostgreSQL: random, mutated and poison records.

Whatever a batch holds, every record ends either as exactly its event in a timeline or as a
dead letter with its original bytes, and a dead-lettered event leaves nothing behind (no
timeline row, identifier or customer of its own).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from profile_store.deadletters import record_dead_letters
from profile_store.storage.engines import make_async_engine, make_sync_engine
from profile_store.storage.tables import (
    customers,
    dead_letters,
    identifiers,
    metadata,
    timeline_events,
)
from profile_store.write.writer import TimelineWriter
from schemas import CanonicalEvent, InvalidEvent
from schemas.deadletter import DeadLetter
from schemas.events import decode_event
from services.pipeline import BatchProcessor, Record
from tests.support.fuzz import mutated_records, valid_events

pytestmark = pytest.mark.integration

records = st.lists(
    st.one_of(valid_events().map(lambda e: e.to_json()), mutated_records(), st.binary(max_size=60)),
    min_size=1,
    max_size=12,
)


def numbers_as_floats(value: object) -> object:
    """JSONB keeps numbers as decimals (6.9e16 comes back as an int): compare them as floats."""
    if isinstance(value, dict):
        return {k: numbers_as_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [numbers_as_floats(v) for v in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


def decoded(raw: bytes) -> CanonicalEvent | None:
    try:
        return decode_event(raw)
    except InvalidEvent:
        return None


async def process(url: str, batch: list[bytes]) -> None:
    engine = make_async_engine(url, pool_size=1)

    async def store(letters: Sequence[DeadLetter]) -> None:
        await record_dead_letters(engine, letters)

    try:
        processor = BatchProcessor(TimelineWriter(engine), store, max_backoff_s=0.05)
        await processor.process([Record(r, b"k", "fuzz", 0, i) for i, r in enumerate(batch)])
    finally:
        await engine.dispose()


@settings(
    max_examples=40,
    deadline=None,
    # Shrinking replays batches against the database for minutes: report the example as found.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(batch=records)
def test_every_record_is_stored_whole_or_dead_lettered(clean_db: str, batch: list[bytes]) -> None:
    sync = make_sync_engine(clean_db)
    with sync.begin() as conn:
        conn.execute(
            sa.text(f"TRUNCATE {', '.join(t.name for t in metadata.sorted_tables)} CASCADE")
        )
    asyncio.run(process(clean_db, batch))
    with sync.connect() as conn:
        rows = {r.event_id: r for r in conn.execute(sa.select(timeline_events))}
        letters = {bytes(o) for (o,) in conn.execute(sa.select(dead_letters.c.original))}
        owners = set(conn.execute(sa.select(timeline_events.c.customer_id)).scalars())
        live = set(
            conn.execute(
                sa.select(customers.c.customer_id).where(customers.c.merged_into.is_(None))
            ).scalars()
        )
        first_seen_by = set(conn.execute(sa.select(identifiers.c.event_id)).scalars())
    sync.dispose()
    events = [(raw, decoded(raw)) for raw in batch]
    newest: dict[str, CanonicalEvent] = {}
    for raw, event in events:
        if event is None:
            assert raw in letters, "an undecodable record must be dead-lettered"
        elif raw not in letters:
            newest.setdefault(event.event_id, event)
            assert event.event_id in rows, "a decodable record is written or dead-lettered"
    for raw, event in events:
        if event is not None and raw in letters:
            # A dead letter leaves no row behind, unless another record had the same id.
            assert event.event_id not in rows or event.event_id in newest
    for event_id, event in newest.items():
        row = rows[event_id]
        assert (row.summary, row.kind) == (event.summary, event.kind)
        assert numbers_as_floats(row.attributes) == numbers_as_floats(event.attributes)
    assert set(rows) == set(newest), "nothing else reaches a timeline"
    # Nothing partial: no live customer without events, no identifier from a dead letter.
    assert live == owners
    assert first_seen_by <= set(rows)
