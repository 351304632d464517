"""Property tests: whatever arrives, the call-centre mappings map it or raise InvalidEvent."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.call_centre import asterisk, connect
from schemas import InvalidEvent
from schemas.events import decode_event
from tests.support.strategies import json_values

SAMPLES = Path(__file__).with_name("samples")
RECEIVED = datetime(2024, 11, 23, 17, 0, tzinfo=UTC)
VOICE = orjson.loads((SAMPLES / "connect_voice_inbound.json").read_bytes())
CDR_ROW = next(csv.reader(io.StringIO((SAMPLES / "asterisk_master.csv").read_text())))

timestamps = st.one_of(
    st.datetimes().map(lambda d: d.isoformat()),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    json_values,
)
#: A real contact record with some fields replaced: the fuzzing reaches deep into the mapping.
mutations = st.dictionaries(
    st.sampled_from(sorted(VOICE)),
    st.one_of(json_values, timestamps),
    max_size=5,
)
nested = st.fixed_dictionaries(
    {},
    optional={
        "Agent": st.dictionaries(st.sampled_from(sorted(VOICE["Agent"])), json_values),
        "Queue": st.dictionaries(st.sampled_from(sorted(VOICE["Queue"])), json_values),
        "Attributes": st.dictionaries(
            st.sampled_from(["email", "phone", "customerId", "loyalty_id", "x"]), json_values
        ),
        "CustomerEndpoint": st.fixed_dictionaries(
            {"Address": st.one_of(st.text(max_size=20), json_values), "Type": json_values}
        ),
    },
)


def check_connect(raw: bytes) -> None:
    with contextlib.suppress(InvalidEvent):
        for event in connect.map_records(connect.parse_records(raw), RECEIVED):
            assert decode_event(event.to_json()) == event


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_random_json_only_ever_raises_invalid_event(body: Any) -> None:
    check_connect(json.dumps(body).encode())


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(mutations, nested)
def test_mutated_contact_records_only_ever_raise_invalid_event(
    top: dict[str, Any], inner: dict[str, Any]
) -> None:
    record = {**VOICE, **top, **inner}
    check_connect(json.dumps(record).encode())
    check_connect(json.dumps([VOICE, record]).encode())


@settings(max_examples=200)
@given(st.binary(max_size=200))
def test_random_bytes_only_ever_raise_invalid_event(raw: bytes) -> None:
    check_connect(raw)
    with contextlib.suppress(InvalidEvent):
        asterisk.map_csv(raw, RECEIVED)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(st.integers(0, len(CDR_ROW) - 1), st.text(max_size=30), max_size=6),
    st.sampled_from(["UTC", "America/New_York", "Europe/London"]),
)
def test_mutated_cdr_rows_only_ever_raise_invalid_event(changes: dict[int, str], zone: str) -> None:
    row = list(CDR_ROW)
    for index, value in changes.items():
        row[index] = value
    out = io.StringIO()
    csv.writer(out).writerow(row)
    with contextlib.suppress(InvalidEvent):
        for event in asterisk.map_csv(out.getvalue().encode(), RECEIVED, zone).events:
            assert decode_event(event.to_json()) == event
