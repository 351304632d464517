"""Generic web-chat widget events (`POST /chat/events`): golden samples beside this file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from ingest.chat.common import TooLarge
from ingest.chat.mapping import MAX_EVENTS, map_chat_events
from schemas import CanonicalEvent, InvalidEvent
from schemas.events import decode_event

SAMPLES = Path(__file__).with_name("samples")
RECEIVED = datetime(2024, 11, 23, 12, 0, tzinfo=UTC)


def sample(name: str) -> dict[str, Any]:
    data = orjson.loads((SAMPLES / f"{name}.json").read_bytes())
    assert isinstance(data, dict)
    return data


def idents(event: CanonicalEvent) -> set[tuple[str, str]]:
    return {(i.type, i.value) for i in event.identifiers}


def test_single_customer_message() -> None:
    [event] = map_chat_events(sample("widget_message"), RECEIVED)
    assert (event.channel, event.kind, event.source) == ("chat", "chat_message", "web-chat")
    assert event.event_id == "web-chat:conv-8841:msg-0003"
    assert idents(event) == {
        ("email", "maria.lopez@example.com"),
        ("anonymous_id", "507f191e-810c-4a9b-8b8e-3c2f6a0d1e7b"),
        ("conversation_id", "conv-8841"),
    }
    assert event.primary_identifier.type == "email"
    assert event.occurred_at == datetime(2024, 11, 23, 9, 5, tzinfo=UTC)
    assert event.summary == "Chat (customer): Can I change the collection store for order W-5001?"
    assert event.attributes == {
        "conversation_id": "conv-8841",
        "platform": "acme-widget",
        "message_id": "msg-0003",
        "author_role": "customer",
        "direction": "inbound",
        "text": "Can I change the collection store for order W-5001?",
        "metadata": {"page": "/orders/W-5001"},
    }
    assert decode_event(event.to_json()) == event


def test_batch_of_a_whole_conversation() -> None:
    events = map_chat_events(sample("widget_events_batch"), RECEIVED)
    assert [e.kind for e in events] == [
        "chat_started",
        "chat_message",
        "chat_message",
        "chat_ended",
    ]
    started, agent, bot, ended = events
    assert started.event_id == "web-chat:conv-8841:started" and started.summary == "Chat started"
    assert idents(agent) == {("conversation_id", "conv-8841")}  # joins via the reference
    assert agent.attributes["direction"] == "outbound"
    assert agent.attributes["author_name"] == "Sam"
    assert agent.summary == "Chat (agent): Yes, which store would you like?"
    assert bot.attributes["author_role"] == "bot"
    assert ended.event_id == "web-chat:conv-8841:ended"
    assert ("phone", "+14155550132") in idents(ended)


def test_defaults_and_long_text() -> None:
    body = {"conversation_id": "c1", "type": "message", "message_id": "m1", "text": "x " * 3000}
    [event] = map_chat_events(body, RECEIVED)
    assert event.occurred_at == RECEIVED
    assert event.attributes["author_role"] == "customer"
    assert len(event.attributes["text"]) == 1000 and event.attributes["text"].endswith("…")
    assert len(event.summary) <= 230


def test_unsafe_ids_are_hashed_but_stable() -> None:
    body = {"conversation_id": "conv with spaces", "type": "ended"}
    first = map_chat_events(body, RECEIVED)[0].event_id
    assert first.startswith("web-chat:sha256:")
    assert map_chat_events(dict(body), RECEIVED)[0].event_id == first


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([], "body: must be a JSON object"),
        ({"type": "message", "message_id": "m"}, "body.conversation_id: Field required"),
        ({"conversation_id": "c", "type": "typing"}, "body.type:"),
        ({"conversation_id": "c", "type": "message"}, "body.message_id: is required"),
        ({"conversation_id": "c", "type": "ended", "author_role": "boss"}, "body.author_role:"),
        ({"conversation_id": "c", "type": "ended", "occurred_at": "soon"}, "body.occurred_at:"),
        (
            {"conversation_id": "c", "type": "ended", "customer": {"email": "x"}},
            "body.customer.email:",
        ),
        (
            {"conversation_id": "c", "type": "ended", "customer": {"emial": "a@b.co"}},
            "body.customer.emial:",
        ),
        (
            {"conversation_id": "c", "type": "ended", "customer": {"phone": "12"}},
            "body.customer.phone:",
        ),
        ({"conversation_id": "", "type": "ended"}, "body.conversation_id:"),
        ({"conversation_id": "c", "type": "ended", "colour": 1}, "body.colour:"),
        ({"events": []}, "events: must be a non-empty list"),
        (
            {"events": [{"conversation_id": "c", "type": "ended"}, 3]},
            "events[1]: must be a JSON object",
        ),
        ({"events": [{"conversation_id": "c", "type": "ended"}], "x": 1}, "x: unexpected"),
    ],
)
def test_bad_input_names_the_field(body: Any, reason: str) -> None:
    with pytest.raises(InvalidEvent) as info:
        map_chat_events(body, RECEIVED)
    assert str(info.value).startswith(reason)


def test_bad_item_in_a_batch_fails_the_whole_batch() -> None:
    body = sample("widget_events_batch")
    body["events"][2]["customer"] = {"email": "not-an-address"}
    with pytest.raises(InvalidEvent, match=r"^events\[2\]\.customer\.email:"):
        map_chat_events(body, RECEIVED)


def test_limits() -> None:
    one = {"conversation_id": "c", "type": "ended"}
    with pytest.raises(TooLarge, match="over the 500 limit"):
        map_chat_events({"events": [one] * (MAX_EVENTS + 1)}, RECEIVED)
    big = {**one, "metadata": {"pad": "x" * 40_000}}
    with pytest.raises(TooLarge, match="KB limit"):
        map_chat_events(big, RECEIVED)
