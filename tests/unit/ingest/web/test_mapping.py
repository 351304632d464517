"""Pure mapping of Segment messages (golden samples in Segment's wire format beside this file)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from ingest.common import MAX_SUMMARY
from ingest.web.mapping import (
    MAX_BATCH_MESSAGES,
    MAX_MESSAGE_BYTES,
    MessageTooLarge,
    check_size,
    map_batch,
    map_message,
)
from schemas import CanonicalEvent, Identifier, InvalidEvent

SAMPLES = Path(__file__).with_name("samples")
RECEIVED = datetime(2024, 11, 23, 12, 0, 0, tzinfo=UTC)


def sample(name: str) -> dict[str, Any]:
    data = orjson.loads((SAMPLES / f"{name}.json").read_bytes())
    assert isinstance(data, dict)
    return data


def idents(event: CanonicalEvent) -> set[tuple[str, str]]:
    return {(i.type, i.value) for i in event.identifiers}


def test_identify_golden() -> None:
    event = map_message(sample("identify"), RECEIVED)
    assert event.channel == "web" and event.source == "segment"
    assert event.kind == "identified"
    assert event.event_id == "segment:ajs-next-1732353600000-4b5f7c1e-2d3a-4e8f-9b0c-1a2b3c4d5e6f"
    assert idents(event) == {
        ("user_id", "cust-1042"),
        ("anonymous_id", "507f191e-810c-4a9b-8b8e-3c2f6a0d1e7b"),
        ("email", "maria.lopez@example.com"),
        ("phone", "+14155550132"),
    }
    assert event.primary_identifier == Identifier(type="user_id", value="cust-1042")
    # Segment's own output: `timestamp` is corrected already (`originalTimestamp` beside it).
    assert event.occurred_at == datetime(2024, 11, 23, 9, 0, tzinfo=UTC)
    assert event.received_at == RECEIVED
    assert event.summary == "Identified"
    assert event.attributes["traits"]["plan"] == "gold"
    assert event.attributes["context"]["locale"] == "en-US"


def test_track_golden() -> None:
    event = map_message(sample("track"), RECEIVED)
    assert event.kind == "tracked"
    assert event.summary == "Tracked: Order Completed"
    assert event.attributes["event"] == "Order Completed"
    assert event.attributes["properties"]["order_id"] == "W-5001"
    assert len(event.attributes["properties"]["products"]) == 2
    assert ("email", "maria.lopez@example.com") in idents(event)  # from context.traits


def test_page_golden() -> None:
    event = map_message(sample("page"), RECEIVED)
    assert event.kind == "page_viewed"
    assert event.summary == "Viewed page: Checkout"
    assert idents(event) == {("anonymous_id", "507f191e-810c-4a9b-8b8e-3c2f6a0d1e7b")}
    attrs = event.attributes
    assert attrs["url"] == "https://shop.example.com/checkout?step=2"
    assert attrs["referrer"] == "https://shop.example.com/cart"
    assert attrs["title"] == "Checkout" and attrs["category"] == "Shop"


def test_screen_golden_corrects_clock_skew() -> None:
    event = map_message(sample("screen"), RECEIVED)
    assert event.kind == "screen_viewed"
    assert event.summary == "Viewed screen: Order Status"
    # The device sent 5 minutes after the call, Segment's rule: received - (sent - original).
    assert event.occurred_at == RECEIVED - timedelta(minutes=5)
    assert event.attributes["context"]["app"]["version"] == "5.2.0"


def test_alias_golden() -> None:
    event = map_message(sample("alias"), RECEIVED)
    assert event.kind == "aliased"
    assert idents(event) == {
        ("user_id", "cust-1042"),
        ("anonymous_id", "507f191e-810c-4a9b-8b8e-3c2f6a0d1e7b"),
    }


def test_group_golden_keeps_group_email_out_of_identifiers() -> None:
    event = map_message(sample("group"), RECEIVED)
    assert event.kind == "grouped"
    assert event.summary == "Joined group: Initech"
    assert idents(event) == {("user_id", "cust-1042")}
    assert event.attributes["group_id"] == "acct-8e9df332ac"
    assert event.attributes["traits"]["employees"] == 420


def test_batch_as_analytics_python_sends_it() -> None:
    # analytics-python's clock agrees with the gateway's: received as it was sent.
    sent = datetime(2024, 11, 23, 11, 31, 5, 123456, tzinfo=UTC)
    events = map_batch(sample("batch_analytics_python"), sent)
    assert [e.kind for e in events] == ["identified", "tracked", "page_viewed"]
    assert [e.event_id for e in events] == [
        "segment:0f3c2a8e-7d41-4b5e-9a6c-1e2d3f4a5b6c",
        "segment:5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b",
        "segment:9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
    ]
    assert ("phone", "+14155550132") in idents(events[0])
    assert idents(events[2]) == {("anonymous_id", "507f191e-810c-4a9b-8b8e-3c2f6a0d1e7b")}
    assert events[1].occurred_at == datetime(2024, 11, 23, 11, 30, tzinfo=UTC)
    assert "clock_corrected" not in events[1].attributes
    assert events[2].attributes["url"] == "https://shop.example.com/orders/W-5001"


@pytest.mark.parametrize("name", ["identify", "track", "page", "screen", "alias", "group"])
def test_ip_is_never_copied(name: str) -> None:
    event = map_message(sample(name), RECEIVED)
    assert b"203.0.113" not in event.to_json() and b"198.51.100" not in event.to_json()


def test_phone_uses_the_default_region() -> None:
    msg = {"type": "identify", "userId": "u1", "traits": {"phone": "020 7946 0958"}}
    assert ("phone", "+442079460958") in idents(map_message(msg, RECEIVED, "GB"))
    with pytest.raises(InvalidEvent, match=r"^traits\.phone: "):
        map_message(msg, RECEIVED, "US")


def test_blank_traits_are_absent_not_invalid() -> None:
    msg = {"type": "identify", "userId": "u1", "traits": {"email": "", "phone": None}}
    assert idents(map_message(msg, RECEIVED)) == {("user_id", "u1")}


# --- event ids --------------------------------------------------------------------------


def test_event_id_is_deterministic_without_message_id() -> None:
    msg = {"type": "track", "userId": "u1", "event": "Viewed", "sentAt": "2024-11-23T10:00:00Z"}
    first = map_message(msg, RECEIVED)
    resent = map_message({**msg, "sentAt": "2024-11-23T10:09:00Z", "writeKey": "k"}, RECEIVED)
    later = map_message(msg, RECEIVED + timedelta(hours=1))
    other = map_message({**msg, "event": "Clicked"}, RECEIVED)
    assert first.event_id.startswith("segment:content:")
    assert first.event_id == resent.event_id == later.event_id
    assert other.event_id != first.event_id


def test_event_id_does_not_depend_on_key_order() -> None:
    msg = {"type": "track", "userId": "u1", "event": "E", "properties": {"a": 1, "b": 2}}
    reordered = {"properties": {"b": 2, "a": 1}, "event": "E", "userId": "u1", "type": "track"}
    assert map_message(msg, RECEIVED).event_id == map_message(reordered, RECEIVED).event_id


def test_long_message_ids_are_hashed_but_stable() -> None:
    msg = {"type": "track", "userId": "u1", "event": "E", "messageId": "x y" * 60}
    assert map_message(msg, RECEIVED).event_id == map_message(msg, RECEIVED).event_id
    assert map_message(msg, RECEIVED).event_id.startswith("segment:sha256:")


# --- timestamps -------------------------------------------------------------------------


def ts(**fields: Any) -> datetime:
    return map_message(
        {"type": "track", "userId": "u", "event": "E", **fields}, RECEIVED
    ).occurred_at


def test_timestamp_wins_over_original_timestamp() -> None:
    got = ts(
        timestamp="2024-01-01T00:00:00Z",
        originalTimestamp="2023-01-01T00:00:00Z",
        sentAt="2023-01-01T00:00:05Z",
    )
    assert got == datetime(2024, 1, 1, tzinfo=UTC)


def test_original_timestamp_is_corrected_with_sent_at() -> None:
    # The device clock is 1 hour behind: it sent "10:00" when the server received at 12:00.
    got = ts(originalTimestamp="2024-11-23T09:59:30Z", sentAt="2024-11-23T10:00:00Z")
    assert got == RECEIVED - timedelta(seconds=30)


def test_original_timestamp_alone_and_no_timestamp() -> None:
    assert ts(originalTimestamp="2024-11-23T09:00:00Z") == datetime(2024, 11, 23, 9, tzinfo=UTC)
    assert ts() == RECEIVED


def test_naive_timestamps_are_utc_and_offsets_are_converted() -> None:
    assert ts(timestamp="2024-11-23T09:00:00") == datetime(2024, 11, 23, 9, tzinfo=UTC)
    assert ts(timestamp="2024-11-23T09:00:00+02:00") == datetime(2024, 11, 23, 7, tzinfo=UTC)
    assert ts(timestamp="2024-11-23T09:00:00.276Z").microsecond == 276000


def test_batch_sent_at_applies_to_messages_without_one() -> None:
    body = {
        "batch": [
            {
                "type": "track",
                "userId": "u",
                "event": "E",
                "originalTimestamp": "2024-11-23T09:00:00Z",
            }
        ],
        "sentAt": "2024-11-23T09:00:10Z",
    }
    assert map_batch(body, RECEIVED)[0].occurred_at == RECEIVED - timedelta(seconds=10)


def test_batch_context_is_merged_message_keys_win() -> None:
    body = {
        "batch": [{"type": "track", "userId": "u", "event": "E", "context": {"locale": "fr-FR"}}],
        "context": {"locale": "en-US", "library": {"name": "x"}, "traits": {"email": "A@b.co"}},
    }
    event = map_batch(body, RECEIVED)[0]
    assert event.attributes["context"] == {"locale": "fr-FR", "library": {"name": "x"}}
    assert ("email", "a@b.co") in idents(event)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"timestamp": "yesterday"}, "timestamp: is not an ISO-8601 timestamp"),
        ({"timestamp": 1732353600}, "timestamp: must be an ISO-8601 string"),
        ({"originalTimestamp": "2024-13-01T00:00:00Z"}, "originalTimestamp: is not an ISO-8601"),
        ({"originalTimestamp": "2024-11-23T00:00:00Z", "sentAt": "x"}, "sentAt: is not an ISO"),
    ],
)
def test_bad_timestamps_are_rejected_naming_the_field(fields: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidEvent) as err:
        ts(**fields)
    assert str(err.value).startswith(reason)


# --- invalid input ----------------------------------------------------------------------


def batch_with(bad: dict[str, Any], at: int = 3) -> dict[str, Any]:
    good = {"type": "track", "userId": "u1", "event": "E"}
    items: list[Any] = [dict(good, messageId=f"m{i}") for i in range(5)]
    items[at] = bad
    return {"batch": items}


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (
            {"type": "track", "userId": {"id": 1}, "event": "E"},
            "batch[3].userId: user_id must be a string",
        ),
        ({"type": "track", "event": "E"}, "batch[3].userId: userId or anonymousId is required"),
        ({"type": "track", "userId": "u"}, "batch[3].event: is required"),
        ({"type": "track", "userId": "u", "event": "  "}, "batch[3].event: must not be empty"),
        ({"type": "track", "userId": "u", "event": 7}, "batch[3].event: must be a string"),
        ({"type": "launch", "userId": "u"}, "batch[3].type: must be one of alias, group, identify"),
        ({"userId": "u"}, "batch[3].type: must be one of"),
        ({"type": ["track"], "userId": "u"}, "batch[3].type: must be one of"),
        ({"type": "group", "userId": "u"}, "batch[3].groupId: is required"),
        ({"type": "alias", "userId": "u"}, "batch[3].previousId: is required for alias"),
        ({"type": "alias", "previousId": "a"}, "batch[3].userId: is required for alias"),
        (
            {"type": "identify", "userId": "u", "traits": {"email": "not-an-email"}},
            "batch[3].traits.email: email is not an address",
        ),
        (
            {"type": "page", "anonymousId": "a", "context": {"traits": {"phone": "12"}}},
            "batch[3].context.traits.phone: phone",
        ),
        (
            {"type": "track", "userId": "u", "event": "E", "context": "x"},
            "batch[3].context: must be",
        ),
        ({"type": "track", "userId": "u", "event": "E", "properties": [1]}, "batch[3].properties:"),
        ({"type": "page", "anonymousId": "a", "name": 5}, "batch[3].name: must be a string"),
        ({"type": "track", "userId": "u", "event": "E", "messageId": True}, "batch[3].messageId:"),
        ({"type": "track", "userId": "u", "event": "E", "messageId": ""}, "batch[3].messageId:"),
        ("track", "batch[3]: must be a JSON object"),
    ],
)
def test_invalid_messages_name_the_field_and_fail_the_whole_batch(bad: Any, reason: str) -> None:
    with pytest.raises(InvalidEvent) as err:
        map_batch(batch_with(bad), RECEIVED)
    assert str(err.value).startswith(reason), str(err.value)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([], "body: must be a JSON object"),
        ({}, "batch: must be a list"),
        ({"batch": {"type": "track"}}, "batch: must be a list"),
    ],
)
def test_invalid_batch_bodies(body: Any, reason: str) -> None:
    with pytest.raises(InvalidEvent, match=f"^{reason}"):
        map_batch(body, RECEIVED)


def test_single_message_errors_have_no_batch_prefix() -> None:
    with pytest.raises(InvalidEvent, match=r"^userId: user_id must be a string$"):
        map_message({"type": "identify", "userId": [1]}, RECEIVED)


def test_summary_is_one_line_and_clipped() -> None:
    event = map_message({"type": "track", "userId": "u", "event": "A\nB" + "x" * 900}, RECEIVED)
    assert "\n" not in event.summary
    assert len(event.summary) == MAX_SUMMARY
    assert event.summary.startswith("Tracked: A B")


# --- size limits ------------------------------------------------------------------------


def padded(size: int) -> dict[str, Any]:
    msg: dict[str, Any] = {"type": "track", "userId": "u", "event": "E", "properties": {"p": ""}}
    msg["properties"]["p"] = "x" * (size - len(orjson.dumps(msg)))
    assert len(orjson.dumps(msg)) == size
    return msg


def test_message_at_the_limit_is_accepted_one_byte_more_is_not() -> None:
    map_message(padded(MAX_MESSAGE_BYTES), RECEIVED)
    with pytest.raises(MessageTooLarge, match=r"^message: 32769 bytes is over the 32 KB limit"):
        map_message(padded(MAX_MESSAGE_BYTES + 1), RECEIVED)
    with pytest.raises(MessageTooLarge, match=r"^batch\[3\]: "):
        map_batch(batch_with(padded(MAX_MESSAGE_BYTES + 1)), RECEIVED)


def test_too_many_messages_in_a_batch() -> None:
    item = {"type": "track", "userId": "u", "event": "E"}
    with pytest.raises(InvalidEvent, match="over the 2500 limit"):
        map_batch({"batch": [item] * (MAX_BATCH_MESSAGES + 1)}, RECEIVED)


def test_check_size() -> None:
    check_size(10, 10, "body")
    with pytest.raises(MessageTooLarge, match=r"^body: 11 bytes"):
        check_size(11, 10, "body")


def test_mapping_does_not_mutate_its_input() -> None:
    body = sample("batch_analytics_python")
    body["context"] = {"locale": "en-US"}
    before = copy.deepcopy(body)
    map_batch(body, RECEIVED)
    assert body == before


def test_an_identify_takes_its_traits_from_the_context_as_rudderstack_sends_them() -> None:
    msg = {
        "type": "identify",
        "userId": "u1",
        "context": {"traits": {"email": "a@b.io", "name": "Maria Lopez", "plan": "gold"}},
        "traits": {"plan": "platinum"},
    }
    traits = map_message(msg, RECEIVED).attributes["traits"]
    assert traits["name"] == "Maria Lopez" and traits["plan"] == "platinum"
