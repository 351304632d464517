"""Pure mapping of Amazon Connect contact records (golden samples in Connect's format)."""

from __future__ import annotations

import base64
import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from ingest.call_centre.connect import MAX_RECORDS, map_record, map_records, parse_records
from schemas import CanonicalEvent, InvalidEvent
from schemas.events import REVISION_KEY, decode_event

SAMPLES = Path(__file__).with_name("samples")
RECEIVED = datetime(2024, 11, 23, 17, 0, tzinfo=UTC)


def voice() -> dict[str, Any]:
    data = orjson.loads((SAMPLES / "connect_voice_inbound.json").read_bytes())
    assert isinstance(data, dict)
    return data


def idents(event: CanonicalEvent) -> set[tuple[str, str]]:
    return {(i.type, i.value) for i in event.identifiers}


def test_inbound_voice_contact_golden() -> None:
    event, updated = map_record(voice(), RECEIVED)
    assert event.event_id == "amazon-connect:5ca32fbd-8f92-46af-92a5-6b0f970f0efe"
    assert (event.channel, event.kind, event.source) == (
        "call_centre",
        "call_completed",
        "amazon-connect",
    )
    assert event.occurred_at == datetime(2024, 11, 23, 15, 5, tzinfo=UTC)
    assert updated == datetime(2024, 11, 23, 15, 10, 47, tzinfo=UTC)
    assert event.summary == "Call (inbound, 4m 12s) with agent jdoe, queue Billing"
    assert idents(event) == {
        ("phone", "+14155550132"),
        ("email", "maria.lopez@example.com"),
        ("user_id", "cust-1042"),
        ("order_id", "W-5001"),
        ("contact_id", "5ca32fbd-8f92-46af-92a5-6b0f970f0efe"),
    }
    attrs = event.attributes
    assert attrs[REVISION_KEY] == "2024-11-23T15:10:47.000000Z"
    assert attrs["direction"] == "inbound" and attrs["agent"] == "jdoe"
    assert (attrs["talk_s"], attrs["hold_s"], attrs["queue_s"], attrs["duration_s"]) == (
        212,
        25,
        28,
        252,
    )
    assert attrs["disconnect_reason"] == "CUSTOMER_DISCONNECT"
    assert attrs["contact_attributes"] == {"intent": "collection_time", "language": "en-US"}
    assert attrs["recording"]["Status"] == "AVAILABLE"
    assert decode_event(event.to_json()) == event


def test_ndjson_redelivery_keeps_the_newest_version_whatever_the_order() -> None:
    raw = (SAMPLES / "connect_firehose.ndjson").read_bytes()
    records = parse_records(raw)
    assert len(records) == 3
    for ordering in (records, list(reversed(records))):
        events = {e.event_id: e for e in map_records(ordering, RECEIVED)}
        assert len(events) == 2
        redelivered = events["amazon-connect:7f1c1e7e-3c2a-4d8e-9f0a-2b1d3c4e5f60"]
        assert redelivered.attributes[REVISION_KEY] == "2024-11-23T16:05:00.000000Z"
        assert ("email", "tom@example.org") in idents(redelivered)
        assert redelivered.attributes["contact_attributes"] == {"csat": "5"}


def test_abandoned_call_never_reached_an_agent() -> None:
    records = parse_records((SAMPLES / "connect_firehose.ndjson").read_bytes())
    event = next(e for e in map_records(records, RECEIVED) if e.event_id.endswith("000000000001"))
    assert event.kind == "call_abandoned"
    assert event.summary == "Abandoned call (inbound, 1m 5s) in queue Billing"
    assert "agent" not in event.attributes
    assert idents(event) == {
        ("phone", "+14155550177"),
        ("contact_id", "c0ffee00-1234-4abc-8def-000000000001"),
    }


def test_flow_only_call_is_missed_and_outbound_direction() -> None:
    record = voice()
    record.update(Agent=None, Queue=None, InitiationMethod="OUTBOUND")
    event, _ = map_record(record, RECEIVED)
    assert event.kind == "call_missed"
    assert event.attributes["direction"] == "outbound"
    assert event.summary == "Missed call (outbound, 4m 12s)"


@pytest.mark.parametrize(
    ("channel", "kind", "event_channel"),
    [("CHAT", "chat_ended", "chat"), ("TASK", "task_completed", "call_centre")],
)
def test_other_connect_channels(channel: str, kind: str, event_channel: str) -> None:
    record = voice()
    record["Channel"] = channel
    event, _ = map_record(record, RECEIVED)
    assert (event.kind, event.channel) == (kind, event_channel)


def test_a_list_a_single_object_and_concatenated_json_parse_alike() -> None:
    one = orjson.dumps(voice())
    assert len(parse_records(one)) == 1
    assert len(parse_records(b"[" + one + b"," + one + b"]")) == 2
    assert len(parse_records(one + one)) == 2  # Firehose to S3 writes records back to back


def test_firehose_http_endpoint_envelope_is_unwrapped() -> None:
    data = base64.b64encode(orjson.dumps(voice())).decode()
    body = {"requestId": "ed4acda5", "timestamp": 1732381200000, "records": [{"data": data}]}
    records = parse_records(orjson.dumps(body))
    assert records[0]["ContactId"] == "5ca32fbd-8f92-46af-92a5-6b0f970f0efe"
    with pytest.raises(InvalidEvent, match=r"records\[0\]\.data: is not valid base64"):
        parse_records(orjson.dumps({"records": [{"data": "%%%"}]}))


def test_withheld_number_and_bad_attribute_are_skipped_not_fatal() -> None:
    record = voice()
    record["CustomerEndpoint"] = {"Address": "anonymous", "Type": "TELEPHONE_NUMBER"}
    record["Attributes"]["email"] = "not an email"
    event, _ = map_record(record, RECEIVED)
    assert event.attributes["skipped_identifiers"] == [
        "CustomerEndpoint.Address",
        "Attributes.email",
    ]
    assert ("user_id", "cust-1042") in idents(event)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ContactId": None}, r"^\[0\]\.ContactId: is required"),
        ({"ContactId": 42}, r"^\[0\]\.ContactId: must be a string"),
        ({"Channel": "FAX"}, r"^\[0\]\.Channel: must be one of"),
        ({"InitiationTimestamp": "yesterday"}, r"^\[0\]\.InitiationTimestamp: is not an ISO"),
        ({"LastUpdateTimestamp": 5}, r"^\[0\]\.LastUpdateTimestamp: must be an ISO"),
        ({"Agent": "jdoe"}, r"^\[0\]\.Agent: must be an object"),
        ({"Queue": {"Duration": -1}}, r"^\[0\]\.Queue\.Duration: must be between"),
        ({"Attributes": []}, r"^\[0\]\.Attributes: must be an object"),
    ],
)
def test_bad_records_name_the_field(change: dict[str, Any], message: str) -> None:
    record = voice()
    record.update(change)
    with pytest.raises(InvalidEvent, match=message):
        map_records([copy.deepcopy(record)], RECEIVED)


def test_one_bad_record_refuses_the_whole_request() -> None:
    with pytest.raises(InvalidEvent, match=r"^\[1\]: must be a JSON object"):
        map_records([voice(), "oops"], RECEIVED)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "no contact records"),
        (b"{not json", "record 0 is not valid JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"{}\n" * (MAX_RECORDS + 1), "more than"),
    ],
)
def test_unparseable_bodies(raw: bytes, message: str) -> None:
    with pytest.raises(InvalidEvent, match=message):
        parse_records(raw)
