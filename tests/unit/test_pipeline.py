"""The worker's batch handler: poison isolation, transient retries, never raising."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
import pytest
from sqlalchemy.exc import DataError, OperationalError

from profile_store.storage.errors import StoreRefused, StoreUnavailable, translate
from profile_store.write.writer import WriteResult
from schemas import CanonicalEvent
from schemas.deadletter import Component, DeadLetter, Failure, FailureType
from schemas.events import utc_now
from services.pipeline import BatchProcessor, Record, write_failure
from tests.support.events import event


class FlakyWriter:
    """Stands in for TimelineWriter: fails on 'poison' events, or transiently N times, with
    the store's own exceptions for the driver's errors (`storage.errors.translate`)."""

    def __init__(self, transient_failures: int = 0) -> None:
        self.transient_failures = transient_failures
        self.stored: dict[str, CanonicalEvent] = {}
        self.calls = 0

    async def write(self, events: Sequence[CanonicalEvent]) -> WriteResult:
        self.calls += 1
        if self.transient_failures:
            self.transient_failures -= 1
            raise translate(
                OperationalError("INSERT", {}, ConnectionError("server closed the connection"))
            )
        if any("poison" in e.event_id for e in events):
            raise translate(
                DataError("INSERT", {}, ValueError("unsupported Unicode escape sequence"))
            )
        new = [e for e in events if e.event_id not in self.stored]
        self.stored.update({e.event_id: e for e in new})
        return WriteResult(frozenset(e.event_id for e in new), len(events) - len(new), 0, 0)


def rec(e: CanonicalEvent, offset: int) -> Record:
    return Record(e.to_json(), e.kafka_key(), "threadline.interactions", 0, offset)


async def run(writer: FlakyWriter, records: list[Record]) -> tuple[list[DeadLetter], int]:
    dead: list[DeadLetter] = []

    async def store(letters: Sequence[DeadLetter]) -> None:
        dead.extend(letters)

    outcome = await BatchProcessor(writer, store, max_backoff_s=0.01).process(records)  # type: ignore[arg-type]
    return dead, outcome.written


async def test_poison_events_are_isolated_and_the_rest_written() -> None:
    events = [event(f"e{i}", ("user_id", "u1"), minutes=i) for i in range(16)]
    events[5] = event("poison-5", ("user_id", "u1"))
    events[11] = event("poison-11", ("user_id", "u2"))
    records = [rec(e, i) for i, e in enumerate(events)]
    records.append(Record(b"not json", None, "threadline.interactions", 0, 99))
    writer = FlakyWriter()
    dead, written = await run(writer, records)
    assert written == 14 and len(writer.stored) == 14
    assert sorted((d.component, d.event_id) for d in dead) == [
        ("worker.decode", None),
        ("worker.write", "poison-11"),
        ("worker.write", "poison-5"),
    ]
    by_offset = {d.offset: d for d in dead}
    assert by_offset[5].original == events[5].to_json()
    assert by_offset[99].original == b"not json"
    assert "DataError" in by_offset[5].failure.message


async def test_transient_database_errors_are_retried_not_dead_lettered() -> None:
    writer = FlakyWriter(transient_failures=3)
    events = [event(f"e{i}", ("user_id", "u1"), minutes=i) for i in range(4)]
    dead, written = await run(writer, [rec(e, i) for i, e in enumerate(events)])
    assert dead == [] and written == 4 and writer.calls == 4


@pytest.mark.parametrize("size", [1, 7])
async def test_redelivered_records_are_counted_as_duplicates(size: int) -> None:
    writer = FlakyWriter()
    events = [event(f"e{i}", ("user_id", "u1"), minutes=i) for i in range(size)]
    await run(writer, [rec(e, i) for i, e in enumerate(events)])
    dead, written = await run(writer, [rec(e, i) for i, e in enumerate(events)])
    assert (dead, written) == ([], 0)


def test_dead_letter_errors_never_carry_nul_bytes_postgres_would_refuse() -> None:
    failure = Failure(type=FailureType.UNEXPECTED, message="bad \x00 input")
    letter = DeadLetter.of(Component.WORKER_WRITE, failure, b"\x00raw", utc_now())
    assert "\x00" not in letter.failure.message and letter.original == b"\x00raw"


def test_write_failures_are_typed_and_never_quote_the_input() -> None:
    refused = translate(
        DataError("INSERT", {}, psycopg.errors.UntranslatableCharacter("bad 'ann@shop.io'"))
    )
    failure = write_failure(refused)
    assert failure.type == FailureType.DATABASE_REFUSED
    assert failure.message == (
        "the database refused the data: UntranslatableCharacter (SQLSTATE 22P05)"
    )
    bug = write_failure(KeyError("ann@shop.io"))
    assert (bug.type, bug.message) == (FailureType.UNEXPECTED, "unexpected KeyError")


def test_a_program_limit_is_refused_data_not_an_outage() -> None:
    """SQLSTATE class 54 (an index row too large...) is an OperationalError by class, but the
    same input fails forever: dead-lettered, never retried; a dropped connection still is."""
    too_big = psycopg.errors.ProgramLimitExceeded("index row size 3000 exceeds maximum")
    assert isinstance(too_big, psycopg.OperationalError)
    assert isinstance(translate(OperationalError("INSERT", {}, too_big)), StoreRefused)
    down = psycopg.errors.AdminShutdown("terminating connection")
    assert isinstance(translate(OperationalError("INSERT", {}, down)), StoreUnavailable)
