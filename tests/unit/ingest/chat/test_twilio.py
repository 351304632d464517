"""Twilio Conversations webhooks: golden form bodies (Twilio's wire format) beside this file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import orjson
import pytest

from ingest.chat.twilio import form_fields, map_webhook, parse_form
from schemas import CanonicalEvent, InvalidEvent
from schemas.events import decode_event

SAMPLES = Path(__file__).with_name("samples")
RECEIVED = datetime(2024, 11, 23, 12, 0, tzinfo=UTC)
COMPANY = ("threadline-shop.com",)
CH = "CH8f3a9d2c1b4e6f7a8b9c0d1e2f3a4b5c"


def params(name: str) -> dict[str, str]:
    return form_fields(parse_form((SAMPLES / f"{name}.form").read_bytes()))


def mapped(fields: dict[str, str]) -> CanonicalEvent:
    events = map_webhook(fields, RECEIVED, "US", COMPANY)
    assert len(events) == 1
    assert decode_event(events[0].to_json()) == events[0]
    return events[0]


def idents(event: CanonicalEvent) -> set[tuple[str, str]]:
    return {(i.type, i.value) for i in event.identifiers}


def test_whatsapp_customer_message() -> None:
    event = mapped(params("on_message_added_whatsapp"))
    assert (event.channel, event.kind, event.source) == (
        "chat",
        "chat_message",
        "twilio-conversations",
    )
    assert event.event_id == "twilio-conversations:IM5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a"
    assert idents(event) == {("phone", "+447700900123"), ("conversation_id", CH)}
    assert event.primary_identifier.type == "phone"
    assert event.occurred_at == datetime(2024, 11, 23, 10, 2, 11, tzinfo=UTC)
    assert event.received_at == RECEIVED
    assert event.summary == (
        "Chat (customer): Hi, is my order W-5001 ready for collection at the Leeds store?"
    )
    attrs = event.attributes
    assert attrs["author_role"] == "customer" and attrs["direction"] == "inbound"
    assert attrs["medium"] == "whatsapp" and attrs["index"] == 0
    assert attrs["conversation_id"] == CH
    assert attrs["text"].startswith("Hi, is my order W-5001")


def test_agent_message_joins_through_the_conversation_only() -> None:
    event = mapped(params("on_message_added_agent"))
    assert idents(event) == {("conversation_id", CH)}  # the agent is not a customer
    assert event.attributes["author_role"] == "agent"
    assert event.attributes["direction"] == "outbound"
    assert event.attributes["agent"] == "sam.taylor@threadline-shop.com"
    assert event.summary.startswith("Chat (agent): Hi Maria, yes: it is ready from 2pm today.")
    assert "\n" not in event.summary and "\n" in event.attributes["text"]


def test_company_address_is_a_customer_when_no_company_domains_are_configured() -> None:
    events = map_webhook(params("on_message_added_agent"), RECEIVED, "US", ())
    assert ("email", "sam.taylor@threadline-shop.com") in idents(events[0])


def test_sdk_identity_is_a_user_id_and_attribute_hints_add_identifiers() -> None:
    event = mapped(params("on_message_added_sdk"))
    assert idents(event) == {
        ("user_id", "cust-1042"),
        ("email", "maria.lopez@example.com"),
        ("conversation_id", CH),
    }
    assert event.attributes["media_count"] == 1
    assert event.attributes["medium"] == "sdk"


def test_attribute_hint_marks_an_sdk_identity_as_agent() -> None:
    fields = params("on_message_added_sdk")
    fields["Attributes"] = orjson.dumps({"threadline": {"author_role": "agent"}}).decode()
    event = mapped(fields)
    assert idents(event) == {("conversation_id", CH)}
    assert event.attributes["author_role"] == "agent"


def test_system_message_and_media_only_message() -> None:
    fields = params("on_message_added_whatsapp")
    fields.update(Author="system", Body="", Media='[{"Sid": "ME1"}, {"Sid": "ME2"}]')
    event = mapped(fields)
    assert idents(event) == {("conversation_id", CH)}
    assert event.summary == "Chat (system): [2 attachment(s)]"


def test_conversation_added_takes_the_customer_binding() -> None:
    event = mapped(params("on_conversation_added"))
    assert event.kind == "chat_started"
    assert event.event_id == f"twilio-conversations:{CH}:onConversationAdded"
    assert idents(event) == {("phone", "+447700900123"), ("conversation_id", CH)}
    assert event.summary == "Chat started (WhatsApp)"
    assert event.attributes == {"conversation_id": CH, "state": "active", "medium": "whatsapp"}


def test_conversation_closed_is_chat_ended() -> None:
    event = mapped(params("on_conversation_state_updated_closed"))
    assert event.kind == "chat_ended" and event.summary == "Chat closed"
    assert event.occurred_at == datetime(2024, 11, 23, 10, 45, tzinfo=UTC)
    assert idents(event) == {("conversation_id", CH)}
    assert event.attributes["state_from"] == "active" and event.attributes["reason"] == "API"


def test_other_state_changes_and_repeated_transitions_get_their_own_ids() -> None:
    fields = params("on_conversation_state_updated_closed")
    fields.update(StateFrom="active", StateTo="inactive")
    first = mapped(fields)
    assert first.kind == "chat_state_changed" and first.summary == "Chat inactive"
    fields.update(StateUpdated="2024-11-23T11:45:00.000Z")
    assert mapped(fields).event_id != first.event_id
    assert mapped(fields).event_id == mapped(dict(fields)).event_id  # redelivery: same id


def test_redelivery_gives_the_same_event() -> None:
    fields = params("on_message_added_whatsapp")
    again = {**fields, "RetryCount": "1"}
    assert mapped(fields).event_id == mapped(again).event_id


def test_pre_action_and_unmapped_event_types_are_acknowledged_without_events() -> None:
    assert map_webhook(params("on_message_add_pre_action"), RECEIVED) == []
    assert map_webhook({"EventType": "onParticipantAdded"}, RECEIVED) == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"EventType": ""}, "EventType"),
        ({"EventType": "drop table"}, "EventType"),
        ({"ConversationSid": "CH123"}, "ConversationSid"),
        ({"MessageSid": ""}, "MessageSid"),
        ({"DateCreated": "yesterday"}, "DateCreated"),
        ({"DateCreated": "2024-11-23T10:02:11"}, "DateCreated"),
        ({"Index": "-1"}, "Index"),
        ({"Author": "whatsapp:+12"}, "Author"),
        ({"Author": "not@an address"}, "Author"),
        (
            {"Attributes": '{"threadline": {"customer": {"email": "nope"}}}'},
            "Attributes.threadline.customer.email",
        ),
        (
            {"Attributes": '{"threadline": {"author_role": "boss"}}'},
            "Attributes.threadline.author_role",
        ),
        ({"Attributes": '{"threadline": []}'}, "Attributes.threadline"),
    ],
)
def test_bad_fields_are_named(change: dict[str, str], field: str) -> None:
    fields = {**params("on_message_added_whatsapp"), **change}
    with pytest.raises(InvalidEvent) as info:
        map_webhook(fields, RECEIVED)
    assert str(info.value).startswith(f"{field}:")


def test_bad_state_is_named() -> None:
    fields = {**params("on_conversation_state_updated_closed"), "StateTo": "archived"}
    with pytest.raises(InvalidEvent, match=r"^StateTo:"):
        map_webhook(fields, RECEIVED)


def test_unparseable_app_attributes_are_ignored() -> None:
    fields = {**params("on_message_added_whatsapp"), "Attributes": "not json", "Media": "{"}
    assert mapped(fields).attributes["author_role"] == "customer"


def test_form_parsing() -> None:
    assert parse_form(b"A=1&B=x+y%21&C=") == [("A", "1"), ("B", "x y!"), ("C", "")]
    with pytest.raises(InvalidEvent, match="UTF-8"):
        parse_form(b"A=%FF")
    with pytest.raises(InvalidEvent, match="form fields"):
        parse_form(urlencode({f"k{i}": "v" for i in range(500)}).encode())
    with pytest.raises(InvalidEvent, match=r"^Body: is repeated"):
        form_fields([("Body", "a"), ("Body", "b")])
