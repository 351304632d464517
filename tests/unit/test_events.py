"""The canonical event: validation, wire form, CloudEvents headers, committed JSON Schema."""

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from schemas import CanonicalEvent, InvalidEvent
from schemas.events import decode_event, make_event_id
from schemas.jsonschema import SCHEMA_FILE, render_schema
from tests.support.events import event


def test_committed_json_schema_is_in_sync() -> None:
    assert SCHEMA_FILE.read_bytes() == render_schema(), "run `threadline schema` and commit"


def test_round_trip_and_utc() -> None:
    tz = timezone(timedelta(hours=2))
    e = event("e1", ("email", "a@shop.io")).model_copy(update={})
    local = CanonicalEvent.model_validate(
        {**e.model_dump(), "occurred_at": datetime(2026, 1, 1, 12, tzinfo=tz)}
    )
    assert local.occurred_at == datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert local.occurred_at.utcoffset() == timedelta(0)
    assert decode_event(local.to_json()) == local
    assert orjson.loads(local.to_json())["occurred_at"] == "2026-01-01T10:00:00Z"


def test_kafka_key_and_cloudevents_headers() -> None:
    e = event("segment:m1", ("anonymous_id", "d1"), ("user_id", "u1"))
    assert e.kafka_key() == b"user_id:u1"
    headers = dict(e.cloudevents_headers())
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_id"] == b"segment:m1"
    assert headers["ce_type"] == b"dev.threadline.web.page_viewed"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff", "not JSON"),
        (b"[1]", "JSON object"),
        (b'{"event_id": "x"}', "channel"),
        (b"{" + b" " * (300 * 1024) + b"}", "byte limit"),
    ],
)
def test_decode_rejects_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(InvalidEvent, match=reason):
        decode_event(raw)


def test_naive_timestamps_and_unknown_fields_are_refused() -> None:
    data = orjson.loads(event("e1", ("user_id", "u1")).to_json())
    with pytest.raises(InvalidEvent, match="occurred_at"):
        decode_event(orjson.dumps({**data, "occurred_at": "2026-01-01T10:00:00"}))
    with pytest.raises(InvalidEvent, match="surprise: Extra inputs"):
        decode_event(orjson.dumps({**data, "surprise": 1}))
    with pytest.raises(InvalidEvent, match="identifiers"):
        decode_event(orjson.dumps({**data, "identifiers": []}))


def test_event_ids_are_deterministic_and_safe() -> None:
    assert make_event_id("segment", "ajs-123") == "segment:ajs-123"
    odd = make_event_id("smtp", "<CAF=x y@mail.example>")
    assert odd.startswith("smtp:sha256:") and odd == make_event_id("smtp", "<CAF=x y@mail.example>")


def test_attributes_with_nan_or_infinity_are_refused() -> None:
    import math

    import pytest
    from pydantic import ValidationError

    from tests.support.events import event

    base = event("e-nan", ("email", "a@b.io"))
    for bad in (math.inf, -math.inf, math.nan):
        with pytest.raises(ValidationError, match="NaN or infinity"):
            base.model_validate({**base.model_dump(), "attributes": {"traits": {"x": [bad]}}})


def test_nul_characters_are_refused_wherever_postgresql_could_not_store_them() -> None:
    from tests.support.events import event

    base = orjson.loads(event("e-nul", ("email", "a@b.io")).to_json())
    for bad in (
        {"summary": "a\x00b"},
        {"attributes": {"k": "a\x00b"}},
        {"attributes": {"k\x00": 1}},
        {"attributes": {"list": [{"deep": ["x\x00"]}]}},
    ):
        with pytest.raises(InvalidEvent, match=r"NUL character"):
            decode_event(orjson.dumps({**base, **bad}))
    fine = decode_event(orjson.dumps({**base, "attributes": {"k": "a\\x00b"}}))
    assert fine.attributes == {"k": "a\\x00b"}
