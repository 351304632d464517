"""A database rule for tests that refuses marked timeline rows, so the worker's write-failure
path (bisect the batch, dead-letter the refused event with its original bytes) runs against
real PostgreSQL. Events cannot carry anything PostgreSQL itself refuses (NUL characters are
rejected at decoding), so the refusal is a trigger, as a constraint a DBA added would be."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

from sqlalchemy import text

from profile_store.storage.engines import make_sync_engine

#: Attributes that make the test rule refuse an event's timeline row.
REFUSED: Final[dict[str, Any]] = {"refused_by_database": True}

_CREATE = (
    """CREATE OR REPLACE FUNCTION threadline_test_refuse() RETURNS trigger LANGUAGE plpgsql AS
       $$ BEGIN RAISE EXCEPTION 'row refused by a test rule' USING ERRCODE = 'check_violation';
       END $$""",
    """CREATE TRIGGER threadline_test_refuse BEFORE INSERT OR UPDATE ON timeline_events
       FOR EACH ROW WHEN (NEW.attributes ? 'refused_by_database')
       EXECUTE FUNCTION threadline_test_refuse()""",
)
_DROP = (
    "DROP TRIGGER IF EXISTS threadline_test_refuse ON timeline_events",
    "DROP FUNCTION IF EXISTS threadline_test_refuse()",
)


def _run(database_url: str, statements: tuple[str, ...]) -> None:
    engine = make_sync_engine(database_url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()


@contextmanager
def refusing_marked_rows(database_url: str) -> Iterator[None]:
    """While open, timeline rows whose attributes hold `REFUSED`'s key are refused."""
    _run(database_url, _DROP + _CREATE)
    try:
        yield
    finally:
        _run(database_url, _DROP)
