"""Pure mapping of Asterisk cdr_csv Master.csv rows (golden samples in cdr_csv's format)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.call_centre.asterisk import MAX_ROWS, is_internal, map_csv, parse_clid
from schemas import InvalidEvent
from schemas.events import decode_event

SAMPLES = Path(__file__).with_name("samples")
RECEIVED = datetime(2024, 11, 23, 19, 0, tzinfo=UTC)
ROW = (
    '"","4155550100","6001","from-trunk","""Jane Doe"" <4155550100>","PJSIP/trunk-1",'
    '"PJSIP/6001-2","Dial","PJSIP/6001","2024-11-23 10:15:02","2024-11-23 10:15:09",'
    '"2024-11-23 10:19:21",259,252,"ANSWERED","DOCUMENTATION"'
)


def test_master_csv_golden_with_local_times() -> None:
    raw = (SAMPLES / "asterisk_master.csv").read_bytes()
    result = map_csv(raw, RECEIVED, "America/Los_Angeles")
    assert result.skipped == 2  # extension to extension, and a withheld caller id
    inbound, outbound = result.events
    assert inbound.event_id == "asterisk:1732356902.42"
    assert (inbound.channel, inbound.kind, inbound.source) == (
        "call_centre",
        "call_completed",
        "asterisk",
    )
    assert inbound.occurred_at == datetime(2024, 11, 23, 18, 15, 2, tzinfo=UTC)  # PST is -8
    assert [(i.type, i.value) for i in inbound.identifiers] == [("phone", "+14155550100")]
    assert inbound.attributes["caller_name"] == "Jane Doe"
    assert inbound.attributes["direction"] == "inbound"
    assert (inbound.attributes["talk_s"], inbound.attributes["ring_s"]) == (252, 7)
    assert inbound.summary == "Call (inbound, 4m 12s) to ext 6001"
    assert outbound.kind == "call_missed"
    assert outbound.attributes["direction"] == "outbound"
    assert [(i.type, i.value) for i in outbound.identifiers] == [("phone", "+14155550177")]
    assert outbound.summary == "Missed call (outbound, no answer) from ext 6002"
    assert "answered_at" not in outbound.attributes
    for event in result.events:
        assert decode_event(event.to_json()) == event


def test_header_row_is_tolerated_and_rows_without_uniqueid_get_a_stable_hash() -> None:
    raw = (SAMPLES / "asterisk_header_no_uniqueid.csv").read_bytes()
    first = map_csv(raw, RECEIVED, "Europe/London").events
    again = map_csv(raw, RECEIVED, "Europe/London").events
    assert len(first) == 1 and first[0].event_id.startswith("asterisk:row-")
    assert first[0].event_id == again[0].event_id
    assert first[0].occurred_at == datetime(2024, 7, 1, 8, 0, tzinfo=UTC)  # BST is +1


def test_newcdrcolumns_layout_uses_uniqueid_and_sequence() -> None:
    row = ROW + ',"1732356902.42","","","1732356902.40","3"'
    (event,) = map_csv(row.encode(), RECEIVED).events
    assert event.event_id == "asterisk:1732356902.42-3"
    assert event.attributes["linkedid"] == "1732356902.40"


def test_every_disposition_maps() -> None:
    for disposition, kind in [
        ("ANSWERED", "call_completed"),
        ("NO ANSWER", "call_missed"),
        ("BUSY", "call_missed"),
        ("FAILED", "call_missed"),
    ]:
        row = ROW.replace('"ANSWERED"', f'"{disposition}"')
        assert map_csv(row.encode(), RECEIVED).events[0].kind == kind


def test_caller_id_parsing() -> None:
    assert parse_clid('"Jane Doe" <4155550100>') == ("Jane Doe", "4155550100")
    assert parse_clid("<4155550100>") == (None, "4155550100")
    assert parse_clid("4155550100") == (None, "4155550100")
    assert parse_clid("") == (None, None)
    assert is_internal("6001") and is_internal("s") and not is_internal("4155550100")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ('"a","b"', r"^row 1: has 2 columns, expected 16"),
        (ROW.replace('"ANSWERED"', '"MAYBE"'), r"^row 1\.disposition: must be one of"),
        (ROW.replace('"2024-11-23 10:15:02"', '"23/11/2024"'), r"^row 1\.start: is not a time"),
        (ROW.replace(",259,", ",-5,"), r"^row 1\.duration: must be a whole number"),
        (ROW.replace('"2024-11-23 10:15:02"', '""'), r"^row 1\.start: is required"),
    ],
)
def test_malformed_rows_are_refused_by_row_and_column(row: str, message: str) -> None:
    with pytest.raises(InvalidEvent, match=message):
        map_csv((ROW + "\n" + row).replace(ROW + "\n", "", 1).encode(), RECEIVED)


def test_limits_and_encoding() -> None:
    with pytest.raises(InvalidEvent, match="no CDR rows"):
        map_csv(b"\n\n", RECEIVED)
    with pytest.raises(InvalidEvent, match="not UTF-8"):
        map_csv(b"\xff\xfe", RECEIVED)
    with pytest.raises(InvalidEvent, match="over the"):
        map_csv(("\n".join([ROW] * (MAX_ROWS + 1))).encode(), RECEIVED)
