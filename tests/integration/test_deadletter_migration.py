"""Migration 0007: dead letters stored before failures were typed still read back, typed, and
keep no driver text that could quote the input."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from profile_store.deadletters import list_dead_letters
from profile_store.storage import migrate
from profile_store.storage.engines import make_async_engine, make_sync_engine
from schemas.deadletter import FailureType
from services.embedded import create_database, drop_database, with_database

pytestmark = pytest.mark.integration

OLD_ROWS = [
    ("worker.decode", "not JSON: unexpected character: line 1 column 1 (char 0)", b"\xff"),
    ("worker.decode", "unexpected RuntimeError", b"{}"),
    ("worker.write", "DataError: (psycopg.errors.DataError) bad value 'ann@shop.io'", b"{1}"),
    ("worker.write", "KeyError: 'ann@shop.io'", b"{2}"),
]


def test_dead_letters_from_before_typed_failures_read_back_typed(database_url: str) -> None:
    admin = with_database(database_url, "postgres")
    name = f"threadline_migration_{uuid.uuid4().hex[:10]}"
    create_database(admin, name)
    url = with_database(admin, name)
    try:
        migrate.upgrade(url, "0006")
        engine = make_sync_engine(url)
        with engine.begin() as conn:
            for n, (component, error, original) in enumerate(OLD_ROWS):
                conn.execute(
                    text(
                        "INSERT INTO dead_letters (fingerprint, component, error, original, "
                        "first_seen, last_seen) VALUES (:f, :c, :e, :o, :t, :t)"
                    ),
                    {
                        "f": f"fp{n}",
                        "c": component,
                        "e": error,
                        "o": original,
                        "t": datetime.now(UTC),
                    },
                )
        engine.dispose()
        migrate.upgrade(url)

        async def read() -> list[tuple[str, FailureType, str, str]]:
            store = make_async_engine(url)
            try:
                async with store.connect() as conn:
                    letters = await list_dead_letters(conn, limit=10)
            finally:
                await store.dispose()
            return [(d.component, d.failure.type, d.failure.message, d.error) for d in letters]

        got = asyncio.run(read())
    finally:
        drop_database(admin, name)
    assert [(c, t, m) for c, t, m, _ in reversed(got)] == [
        (
            "worker.decode",
            FailureType.INVALID_EVENT,
            "not JSON: unexpected character: line 1 column 1 (char 0)",
        ),
        ("worker.decode", FailureType.UNEXPECTED, "unexpected RuntimeError"),
        ("worker.write", FailureType.DATABASE_REFUSED, "the database refused the data: DataError"),
        ("worker.write", FailureType.UNEXPECTED, "unexpected KeyError"),
    ]
    assert all(message == error for _, _, message, error in got)
    assert not any("ann@shop.io" in message for _, _, message, _ in got)
