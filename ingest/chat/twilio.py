"""Pure mapping of Twilio Conversations webhooks (form-encoded) to canonical `chat` events.

Mapped post-action events: `onMessageAdded` (`chat_message`), `onConversationAdded`
(`chat_started`), `onConversationStateUpdated` (`chat_ended` when `StateTo` is `closed`,
else `chat_state_changed`). Any other `on...` event type (pre-action webhooks, participant
and delivery events) is acknowledged without publishing, so a webhook filter that sends
more than these never blocks or errors a conversation.

Who wrote a message: `Author` `whatsapp:+44...` / `sms:` / `+1...` is the customer's phone,
an address is an email (staff when its domain is one of the company's), `system` is
Twilio, any other value is an SDK identity (the app's `user_id`). A JSON object under the
`threadline` key of the message or conversation `Attributes` may say more:
`{"threadline": {"author_role": "agent", "customer": {"email": ..., "phone": ...}}}`.
Every event carries `ConversationSid` as a `conversation_id` reference identifier, so agent
messages (no customer identifier) join the customer's timeline through the conversation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import parse_qsl

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from ingest.chat.common import (
    CONVERSATION_ID,
    PersonIds,
    person_identifiers,
    prefixed_errors,
)
from ingest.chat.mapping import SUMMARY_TEXT, TEXT_EXCERPT, Role
from ingest.common import clip, excerpt, parse_ident, source_event
from schemas import CanonicalEvent, Channel, Identifier, InvalidEvent
from schemas.identifiers import EMAIL, PHONE, USER_ID

SOURCE: Final = "twilio-conversations"
#: Bodies are at most 1,600 characters and attributes 16 KB; form encoding can triple that.
MAX_BODY_BYTES: Final = 128 * 1024
MAX_FIELDS: Final = 200
MAPPED: Final = ("onMessageAdded", "onConversationAdded", "onConversationStateUpdated")
STATES: Final = frozenset({"active", "inactive", "closed"})
MEDIUM_NAMES: Final = {"whatsapp": "WhatsApp", "sms": "SMS"}

_EVENT_TYPE: Final = re.compile(r"^on[A-Z][A-Za-z]{2,60}$")
_CONVERSATION_SID: Final = re.compile(r"^CH[0-9a-fA-F]{32}$")
_MESSAGE_SID: Final = re.compile(r"^IM[0-9a-fA-F]{32}$")
#: A channel address (`whatsapp:...`, `sms:...`) or a number in international format.
_PHONE_AUTHOR: Final = re.compile(r"^((whatsapp|sms|tel):|\+[0-9])", re.I)
_ROLES: Final = frozenset({"customer", "agent", "bot", "system"})


class Hints(BaseModel):
    """What an integrator may put under `threadline` in a message's or conversation's Attributes."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    author_role: Role | None = None
    customer: PersonIds | None = None


def parse_form(raw: bytes) -> list[tuple[str, str]]:
    """Decode an `application/x-www-form-urlencoded` body into its (key, value) pairs."""
    try:
        text = raw.decode("utf-8")
        return parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict")
    except UnicodeDecodeError:
        raise InvalidEvent("body: form data is not valid UTF-8") from None
    except ValueError:
        raise InvalidEvent(f"body: more than {MAX_FIELDS} form fields") from None


def form_fields(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The parameters as a mapping; a repeated key is refused (Twilio sends each once)."""
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            raise InvalidEvent(f"{key[:60]}: is repeated")
        fields[key] = value
    return fields


def is_conversations(params: Mapping[str, str]) -> bool:
    """A Conversations webhook: its `EventType` is an `on...` event name."""
    return bool(_EVENT_TYPE.match(params.get("EventType", "")))


def map_webhook(
    params: Mapping[str, str],
    received_at: datetime,
    default_region: str = "US",
    company_domains: tuple[str, ...] = (),
) -> list[CanonicalEvent]:
    """Map one webhook's parameters: one event, or none for an event type not mapped."""
    event_type = params.get("EventType", "")
    if not _EVENT_TYPE.match(event_type):
        raise InvalidEvent(
            "EventType: is required and must be a Conversations event like onMessageAdded"
        )
    if event_type not in MAPPED:
        return []
    sid = _sid(params, "ConversationSid", _CONVERSATION_SID)
    reference = Identifier(type=CONVERSATION_ID, value=sid)
    if event_type == "onMessageAdded":
        return [_message(params, sid, reference, received_at, default_region, company_domains)]
    if event_type == "onConversationAdded":
        return [_started(params, sid, reference, received_at, default_region)]
    return [_state(params, sid, reference, received_at)]


def _message(
    params: Mapping[str, str],
    sid: str,
    reference: Identifier,
    received_at: datetime,
    region: str,
    company_domains: tuple[str, ...],
) -> CanonicalEvent:
    message_sid = _sid(params, "MessageSid", _MESSAGE_SID)
    hints = _hints(params, "Attributes", region)
    author = params.get("Author", "").strip()
    role, author_id, medium = _author(author, region, company_domains)
    role = hints.author_role or role
    identifiers = [*_customer(hints, "Attributes", region), reference]
    if role == "customer" and author_id is not None:
        identifiers.insert(0, author_id)
    text = excerpt(params.get("Body"), TEXT_EXCERPT)
    media = _json(params.get("Media"))
    media_count = len(media) if isinstance(media, list) else 0
    medium = (params.get("Source") or "").strip().lower()[:40] or medium
    attrs: dict[str, Any] = {
        "conversation_id": sid,
        "message_id": message_sid,
        "index": _int(params, "Index"),
        "author_role": role,
        "direction": "inbound" if role == "customer" else "outbound",
        "medium": medium,
        "text": text,
        "media_count": media_count or None,
        "participant_sid": params.get("ParticipantSid") or None,
    }
    if role == "agent" and author:
        attrs["agent"] = author[:256]
    what = clip(text, SUMMARY_TEXT) if text else f"[{media_count} attachment(s)]"
    summary = f"Chat ({role}): {what}"
    occurred = _time(params, ("DateCreated",), received_at)
    return _event(message_sid, "chat_message", occurred, received_at, identifiers, summary, attrs)


def _started(
    params: Mapping[str, str], sid: str, reference: Identifier, received_at: datetime, region: str
) -> CanonicalEvent:
    hints = _hints(params, "Attributes", region)
    address = params.get("MessagingBinding.Address", "").strip()
    identifiers = [*_customer(hints, "Attributes", region), reference]
    medium = None
    if address:
        role, ident, medium = _author(address, region, ())
        if ident is not None and role == "customer":
            identifiers.insert(0, ident)
    state = params.get("State", "").strip().lower() or None
    attrs = {"conversation_id": sid, "state": state if state in STATES else None, "medium": medium}
    summary = f"Chat started ({MEDIUM_NAMES.get(medium, medium)})" if medium else "Chat started"
    occurred = _time(params, ("DateCreated",), received_at)
    natural = f"{sid}:onConversationAdded"
    return _event(natural, "chat_started", occurred, received_at, identifiers, summary, attrs)


def _state(
    params: Mapping[str, str], sid: str, reference: Identifier, received_at: datetime
) -> CanonicalEvent:
    state_to = params.get("StateTo", "").strip().lower()
    if state_to not in STATES:
        raise InvalidEvent("StateTo: must be active, inactive or closed")
    state_from = params.get("StateFrom", "").strip().lower()
    stamp = next((params[k].strip() for k in ("StateUpdated", "DateUpdated") if params.get(k)), "")
    occurred = _time(params, ("StateUpdated", "DateUpdated"), received_at)
    attrs = {
        "conversation_id": sid,
        "state_from": state_from if state_from in STATES else None,
        "state_to": state_to,
        "reason": (params.get("Reason") or "").strip()[:40] or None,
    }
    kind = "chat_ended" if state_to == "closed" else "chat_state_changed"
    summary = "Chat closed" if state_to == "closed" else f"Chat {state_to}"
    natural = f"{sid}:onConversationStateUpdated:{state_to}" + (f":{stamp}" if stamp else "")
    return _event(natural, kind, occurred, received_at, [reference], summary, attrs)


def _event(
    natural: str,
    kind: str,
    occurred_at: datetime,
    received_at: datetime,
    identifiers: list[Identifier],
    summary: str,
    attrs: dict[str, Any],
) -> CanonicalEvent:
    times = (occurred_at, received_at)
    return source_event(
        "webhook", SOURCE, natural, Channel.CHAT, kind, times, identifiers, summary, attrs
    )


def _author(
    author: str, region: str, company_domains: tuple[str, ...]
) -> tuple[Role, Identifier | None, str | None]:
    """(role, customer identifier, medium) for an `Author` or binding address."""
    if not author or author.lower() == "system":
        return "system", None, None
    if _PHONE_AUTHOR.match(author):
        medium = "whatsapp" if author.lower().startswith("whatsapp:") else "sms"
        return "customer", parse_ident(PHONE, author, region, "Author"), medium
    if "@" in author:
        ident = parse_ident(EMAIL, author, region, "Author")
        assert ident is not None
        domain = ident.value.rpartition("@")[2]
        if any(domain == d or domain.endswith("." + d) for d in company_domains):
            return "agent", None, None
        return "customer", ident, None
    return "customer", parse_ident(USER_ID, author, region, "Author"), None


def _hints(params: Mapping[str, str], name: str, region: str) -> Hints:
    attributes = _json(params.get(name))
    raw = attributes.get("threadline") if isinstance(attributes, dict) else None
    if raw is None:
        return Hints()
    if not isinstance(raw, dict):
        raise InvalidEvent(f"{name}.threadline: must be a JSON object")
    try:
        return Hints.model_validate(raw)
    except ValidationError as exc:
        raise InvalidEvent(prefixed_errors(exc, f"{name}.threadline")) from None


def _customer(hints: Hints, name: str, region: str) -> list[Identifier]:
    return person_identifiers(hints.customer, region, f"{name}.threadline.customer")


def _json(raw: str | None) -> Any:
    """Twilio's JSON-in-a-parameter (`Attributes`, `Media`); None when absent or not JSON."""
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def _sid(params: Mapping[str, str], name: str, pattern: re.Pattern[str]) -> str:
    value = params.get(name, "").strip()
    if not pattern.match(value):
        prefix = pattern.pattern[1:3]
        raise InvalidEvent(f"{name}: is required and must be a Twilio SID ({prefix} + 32 hex)")
    return value


def _int(params: Mapping[str, str], name: str) -> int | None:
    value = params.get(name, "").strip()
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 12:
        raise InvalidEvent(f"{name}: must be a non-negative integer")
    return int(value)


def _time(params: Mapping[str, str], names: tuple[str, ...], received_at: datetime) -> datetime:
    """The first present timestamp among `names` (ISO 8601), else when it was received."""
    for name in names:
        value = params.get(name, "").strip()
        if value:
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                raise InvalidEvent(f"{name}: is not an ISO-8601 timestamp") from None
            if parsed.tzinfo is None:
                raise InvalidEvent(f"{name}: must include a UTC offset (Twilio sends Z)")
            try:
                return parsed.astimezone(UTC)
            except OverflowError:
                raise InvalidEvent(f"{name}: is out of range") from None
    return received_at
