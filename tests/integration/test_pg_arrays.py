"""The fast list-of-strings dumper against real PostgreSQL: what it sends is what arrives."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.adapt import PyFormat, Transformer
from sqlalchemy import text

from profile_store.storage.driver import libpq_url, make_read_pool
from profile_store.storage.engines import make_async_engine
from profile_store.storage.pg_arrays import StrListDumper, use_fast_str_lists

# PostgreSQL text holds any character but NUL (and no lone surrogates, which UTF-8 cannot encode).
TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)))
TRICKY = st.sampled_from(['"', "\\", "NULL", "", " ", ",", "{", "}", "a b", '\\"', "é😀"])


@pytest.fixture(scope="module")
def fast(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        use_fast_str_lists(conn.adapters)
        yield conn


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(st.one_of(TEXT, TRICKY), max_size=40))
def test_a_list_of_strings_arrives_unchanged(
    fast: psycopg.Connection[Any], values: list[str]
) -> None:
    row = fast.execute("SELECT CAST(%s AS text[])", (values,)).fetchone()
    assert row is not None
    assert row[0] == values


def test_other_lists_take_psycopgs_own_path(fast: psycopg.Connection[Any]) -> None:
    for values, expected in (
        (["a", None, "b"], ["a", None, "b"]),
        ([["a", "b"], ["c", "d"]], [["a", "b"], ["c", "d"]]),
        ([1, 2], ["1", "2"]),
        ([], []),
    ):
        row = fast.execute("SELECT CAST(%s AS text[])", (values,)).fetchone()
        assert row is not None
        assert row[0] == expected


def test_rows_of_one_statement_may_mix_lists(fast: psycopg.Connection[Any]) -> None:
    rows = [(1, ["a"]), (2, []), (3, ["b", None]), (4, ['"q"'])]
    with fast.transaction(), fast.cursor() as cur:
        cur.execute("CREATE TEMP TABLE arrays (n int, a text[]) ON COMMIT DROP")
        cur.executemany("INSERT INTO arrays VALUES (%s, %s)", rows)
        assert cur.execute("SELECT n, a FROM arrays ORDER BY n").fetchall() == rows


def test_a_dumper_chosen_for_strings_dumps_an_empty_list_as_an_empty_array(
    fast: psycopg.Connection[Any],
) -> None:
    dumper = Transformer(fast).get_dumper(["a"], PyFormat.TEXT)
    assert isinstance(dumper, StrListDumper)
    assert dumper.dump([]) == b"{}"
    assert dumper.dump(["a", 'b"']) == b'{"a","b\\""}'


def test_a_nul_character_is_refused_as_psycopg_refuses_it(fast: psycopg.Connection[Any]) -> None:
    with pytest.raises(psycopg.DataError, match="NUL"):
        fast.execute("SELECT CAST(%s AS text[])", (["ok", "bad\x00"],))


async def test_the_engine_and_the_read_pool_use_it(database_url: str) -> None:
    engine = make_async_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            adapters = raw.driver_connection.adapters  # type: ignore[union-attr]
            assert adapters.get_dumper(list, PyFormat.AUTO) is StrListDumper
            result = await conn.execute(text("SELECT CAST(:v AS text[])"), {"v": ['a"', "b"]})
            assert result.scalar() == ['a"', "b"]
    finally:
        await engine.dispose()
    pool = make_read_pool(database_url, 1, 5.0)
    await pool.open(wait=True)
    try:
        async with pool.connection() as pg:
            assert pg.adapters.get_dumper(list, PyFormat.AUTO) is StrListDumper
    finally:
        await pool.close()
