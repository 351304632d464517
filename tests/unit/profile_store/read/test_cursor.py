"""Timeline cursors and statement building: opaque, strict, keyset-ordered (no I/O)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from profile_store.read.cursors import decode_cursor, encode_cursor
from profile_store.read.errors import InvalidCursor, InvalidQuery
from profile_store.read.timeline import MAX_LIMIT, SURVIVOR, timeline_query

AT = datetime(2026, 11, 20, 14, 5, 0, 123456, tzinfo=UTC)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_round_trip_keeps_microseconds_and_id() -> None:
    assert decode_cursor(encode_cursor(AT, 42)) == (AT, 42)


def test_cursor_is_url_safe_and_unpadded() -> None:
    cursor = encode_cursor(AT, 2**62)
    assert "=" not in cursor and "+" not in cursor and "/" not in cursor
    assert orjson.loads(base64.urlsafe_b64decode(cursor + "==")) == [AT.isoformat(), 2**62]


def test_other_timezones_are_normalised_to_utc() -> None:
    local = AT.astimezone(timezone(timedelta(hours=-8)))
    at, _ = decode_cursor(encode_cursor(local, 7))
    assert at == AT and at.utcoffset() == timedelta(0)


@given(
    st.datetimes(
        min_value=datetime(1970, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
    ),
    st.integers(min_value=1, max_value=2**63 - 1),
)
def test_round_trip_property(at: datetime, row_id: int) -> None:
    assert decode_cursor(encode_cursor(at, row_id)) == (at, row_id)


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "abc def",
        "a" * 201,
        "é",
        b64(b"not json"),
        b64(b"{}"),
        b64(b"[]"),
        b64(orjson.dumps(["2026-11-20T14:05:00+00:00"])),
        b64(orjson.dumps(["2026-11-20T14:05:00+00:00", 1, 2])),
        b64(orjson.dumps(["2026-11-20T14:05:00", 1])),  # naive
        b64(orjson.dumps(["yesterday", 1])),
        b64(orjson.dumps(["2026-11-20T14:05:00+00:00", "1"])),
        b64(orjson.dumps(["2026-11-20T14:05:00+00:00", True])),
        b64(orjson.dumps(["2026-11-20T14:05:00+00:00", 0])),
        b64(orjson.dumps(["2026-11-20T14:05:00+00:00", -5])),
        b64(orjson.dumps(["2026-11-20T14:05:00+00:00", 2**63])),
        b64(orjson.dumps(["2026-11-20T14:05:00+00:00", 1.5])),
    ],
)
def test_bad_cursors_raise_invalid_cursor(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor)


def sql(**kwargs: object) -> str:
    return timeline_query("cus_1", **kwargs)[0]  # type: ignore[arg-type]


def test_statement_orders_newest_first_with_id_tiebreak_and_fetches_one_extra() -> None:
    text, params = timeline_query("cus_1", limit=10)
    assert text.endswith("ORDER BY t.occurred_at DESC, t.id DESC LIMIT %(limit)s")
    assert "OFFSET" not in text and params == {"customer_id": "cus_1", "limit": 11}


def test_statement_uses_a_row_comparison_after_the_cursor() -> None:
    text, params = timeline_query("cus_1", after=(AT, 5))
    assert "(t.occurred_at, t.id) < (%(after_at)s::timestamptz, %(after_id)s::bigint)" in text
    assert (params["after_at"], params["after_id"]) == (AT, 5)


def test_statement_filters_several_channels_and_kinds_as_arrays() -> None:
    text, params = timeline_query("cus_1", channel=["web", "chat", "web"], kind="order_placed")
    assert "t.channel = ANY(%(channels)s::text[])" in text and "t.kind = ANY(" in text
    assert params["channels"] == ["web", "chat"] and params["kinds"] == ["order_placed"]


def test_the_text_depends_only_on_which_filters_are_given() -> None:
    """psycopg prepares a statement by its text: values must never reach it."""
    first = sql(channel=["web"], since=AT, limit=5, after=(AT, 1))
    other = sql(channel=["chat", "email"], since=AT - timedelta(days=3), limit=50, after=(AT, 9))
    assert first == other and "cus_1" not in first and "web" not in first


def test_following_a_merge_reads_the_survivor_and_returns_its_id() -> None:
    text = timeline_query("cus_1", follow_merge=True)[0]
    assert f"t.customer_id = {SURVIVOR}" in text and f"{SURVIVOR} AS c" in text


@pytest.mark.parametrize("limit", [0, -1, MAX_LIMIT + 1])
def test_limit_out_of_range(limit: int) -> None:
    with pytest.raises(InvalidQuery, match="limit"):
        timeline_query("cus_1", limit=limit)


def test_naive_bounds_and_reversed_range_are_refused() -> None:
    with pytest.raises(InvalidQuery, match="since"):
        timeline_query("cus_1", since=datetime(2026, 1, 1))
    with pytest.raises(InvalidQuery, match="until"):
        timeline_query("cus_1", until=datetime(2026, 1, 1))
    with pytest.raises(InvalidQuery, match="after until"):
        timeline_query("cus_1", since=AT, until=AT - timedelta(seconds=1))


def test_too_many_filter_values() -> None:
    with pytest.raises(InvalidQuery, match="channel"):
        timeline_query("cus_1", channel=[f"c{i}" for i in range(33)])
