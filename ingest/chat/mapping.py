"""Pure mapping of generic web-chat widget events (`POST /chat/events`) to canonical `chat` events.

Input: one event object, or `{"events": [...]}` of up to `MAX_EVENTS` (all or nothing):

    {"conversation_id": "conv-8841",                  # required, the chat's own id
     "type": "message" | "started" | "ended",         # required
     "message_id": "msg-3",                           # required for type message
     "author_role": "customer" | "agent" | "bot" | "system",   # messages; default customer
     "author_name": "Sam (agent)",                    # optional display name of staff/bot
     "text": "Is my order ready?",                    # message text (excerpt kept)
     "occurred_at": "2024-11-23T10:02:11Z",           # optional, default: time received
     "customer": {"email", "phone", "user_id", "anonymous_id", "loyalty_id"},  # optional
     "platform": "acme-widget",                       # optional, name of the widget
     "metadata": {...}}                               # optional, kept as attributes.metadata

`customer` always describes the customer of the conversation, whoever wrote the message;
the conversation id is added as a `conversation_id` reference identifier, so agent and bot
messages without customer identifiers still join the customer's timeline through it.
`event_id`: `web-chat:<conversation_id>:<message_id>` for messages, `...:started|ended`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from ingest.chat.common import (
    CONVERSATION_ID,
    Key,
    Label,
    PersonIds,
    UtcTime,
    items_of,
    person_identifiers,
    validate_item,
)
from ingest.common import build_event, clip, excerpt, parse_ident, unique
from schemas import CanonicalEvent, Channel, InvalidEvent
from schemas.events import make_event_id
from schemas.timestamps import believed

SOURCE: Final = "web-chat"
MAX_EVENT_BYTES: Final = 32 * 1024
MAX_BODY_BYTES: Final = 512 * 1024
MAX_EVENTS: Final = 500
#: Characters of message text kept in `attributes.text`; the summary shows fewer.
TEXT_EXCERPT: Final = 1000
SUMMARY_TEXT: Final = 200

Role = Literal["customer", "agent", "bot", "system"]
KINDS: Final = {"message": "chat_message", "started": "chat_started", "ended": "chat_ended"}


class ChatEventIn(BaseModel):
    """One web-chat event as a widget posts it (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    conversation_id: Key
    type: Literal["message", "started", "ended"]
    message_id: Key | None = None
    author_role: Role | None = None
    author_name: Label | None = None
    text: str | None = Field(default=None, max_length=20_000)
    occurred_at: UtcTime | None = None
    customer: PersonIds | None = None
    platform: Label | None = None
    metadata: dict[str, Any] | None = None


def map_chat_events(
    body: Any, received_at: datetime, default_region: str = "US"
) -> list[CanonicalEvent]:
    """Map a `/chat/events` body (one event or `{"events": [...]}`); raise InvalidEvent."""
    events = []
    for where, item in items_of(body, "events", MAX_EVENTS):
        event = validate_item(ChatEventIn, item, where, MAX_EVENT_BYTES)
        events.append(map_chat_event(event, received_at, default_region, where))
    return events


def map_chat_event(
    event: ChatEventIn, received_at: datetime, region: str, where: str = "body"
) -> CanonicalEvent:
    """Map one validated widget event."""
    customer = person_identifiers(event.customer, region, f"{where}.customer")
    reference = parse_ident(
        CONVERSATION_ID, event.conversation_id, region, f"{where}.conversation_id"
    )
    identifiers = unique([*customer, reference])
    role = event.author_role or "customer"
    attrs: dict[str, Any] = {"conversation_id": event.conversation_id}
    if event.platform:
        attrs["platform"] = event.platform
    if event.type == "message":
        if event.message_id is None:
            raise InvalidEvent(f"{where}.message_id: is required when type is message")
        natural = f"{event.conversation_id}:{event.message_id}"
        text = excerpt(event.text, TEXT_EXCERPT)
        attrs.update(
            message_id=event.message_id,
            author_role=role,
            direction="inbound" if role == "customer" else "outbound",
            text=text,
        )
        if event.author_name and role != "customer":
            attrs["author_name"] = event.author_name
        summary = f"Chat ({role}): {clip(text, SUMMARY_TEXT) if text else '(no text)'}"
    else:
        natural = f"{event.conversation_id}:{event.type}"
        summary = "Chat started" if event.type == "started" else "Chat ended"
    if event.metadata:
        attrs["metadata"] = event.metadata
    return build_event(
        where,
        event_id=make_event_id(SOURCE, natural),
        channel=Channel.CHAT,
        kind=KINDS[event.type],
        occurred_at=believed(event.occurred_at, received_at, f"{where}.occurred_at")
        if event.occurred_at
        else received_at,
        received_at=received_at,
        source=SOURCE,
        identifiers=identifiers,
        summary=clip(summary),
        attributes={k: v for k, v in attrs.items() if v is not None},
    )
