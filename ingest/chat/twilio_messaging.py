"""Pure mapping of Twilio Programmable Messaging webhooks (form-encoded) to canonical `chat` events.

Two kinds of request reach `/chat/twilio` without a Conversations `EventType`:

- an incoming message (SMS, MMS, WhatsApp, RCS: `MessageSid`, `From`, `To`, `Body`,
  `NumMedia`, WhatsApp's `ProfileName` and `WaId`): a customer's `chat_message`, identified
  by the `From` number; a WhatsApp profile name becomes the `name` trait (the lowest-trusted
  source of names, see the README);
- a status callback of a message the company sent (`MessageStatus`: queued, sent,
  delivered, read, failed, undelivered...): an outbound `chat_message` to the `To` number,
  one timeline item per message whose revision is the status, so `delivered` replaces `sent`.

`event_id` is `twilio-messaging:<MessageSid>`: Twilio's retries map to the same event. The
customer and company numbers name the thread (`conversation_id`), so an open SMS thread
closes when the company replies.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from ingest.chat.mapping import SUMMARY_TEXT, TEXT_EXCERPT
from ingest.common import clip, excerpt, name_traits, parse_ident, source_event
from schemas import CanonicalEvent, Channel, Identifier, InvalidEvent
from schemas.events import REVISION_KEY
from schemas.identifiers import PHONE

SOURCE: Final = "twilio-messaging"
MEDIUM_NAMES: Final = {"whatsapp": "WhatsApp", "sms": "SMS", "mms": "MMS", "rcs": "RCS"}
#: Status order: a later status is a higher revision of the message's timeline item.
STATUS_RANK: Final = {
    "accepted": 1,
    "scheduled": 1,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "partially_delivered": 4,
    "read": 5,
    "undelivered": 6,
    "failed": 6,
    "canceled": 6,
    "receiving": 1,
    "received": 2,
}
INBOUND_STATUSES: Final = frozenset({"receiving", "received"})
_MESSAGE_SID: Final = re.compile(r"^(SM|MM)[0-9a-fA-F]{32}$")
_CHANNEL_PREFIX: Final = re.compile(r"^(whatsapp|sms|rcs|messenger):", re.I)


def is_messaging(params: Mapping[str, str]) -> bool:
    """A Programmable Messaging request (not Conversations): it names a `MessageSid`."""
    return bool(params.get("MessageSid") or params.get("SmsSid"))


def map_message_webhook(
    params: Mapping[str, str], received_at: datetime, default_region: str = "US"
) -> list[CanonicalEvent]:
    """Map an incoming message or a status callback to one event."""
    sid = (params.get("MessageSid") or params.get("SmsSid") or "").strip()
    if not _MESSAGE_SID.match(sid):
        raise InvalidEvent("MessageSid: must be a Twilio message SID (SM or MM + 32 hex)")
    status = (params.get("MessageStatus") or "").strip().lower()
    if status and status not in INBOUND_STATUSES:
        return [_status_callback(params, sid, status, received_at, default_region)]
    return [_incoming(params, sid, received_at, default_region)]


def _incoming(
    params: Mapping[str, str], sid: str, received_at: datetime, region: str
) -> CanonicalEvent:
    medium, customer = _address(params, "From", region)
    _, company = _address(params, "To", region)
    media_count = _count(params, "NumMedia")
    if medium == "sms" and media_count:
        medium = "mms"
    text = excerpt(params.get("Body"), TEXT_EXCERPT)
    attrs: dict[str, Any] = {
        "conversation_id": _thread(medium, customer, company),
        "message_id": sid,
        "author_role": "customer",
        "direction": "inbound",
        "medium": medium,
        "text": text,
        "media_count": media_count or None,
        "segments": _count(params, "NumSegments") or None,
        "to": company.value,
        "messaging_service_sid": (params.get("MessagingServiceSid") or "").strip() or None,
        "country": (params.get("FromCountry") or "").strip()[:2] or None,
    }
    traits = name_traits(params.get("ProfileName")) if medium == "whatsapp" else {}
    if traits:
        attrs["traits"] = traits
    what = clip(text, SUMMARY_TEXT) if text else f"[{media_count} attachment(s)]"
    summary = f"{MEDIUM_NAMES.get(medium, medium)} (customer): {what}"
    return _event(sid, received_at, customer, summary, attrs)


def _status_callback(
    params: Mapping[str, str], sid: str, status: str, received_at: datetime, region: str
) -> CanonicalEvent:
    if status not in STATUS_RANK:
        raise InvalidEvent(f"MessageStatus: {status[:40]!r} is not a Twilio message status")
    medium, customer = _address(params, "To", region)
    _, company = _address(params, "From", region)
    error = (params.get("ErrorCode") or "").strip()[:10] or None
    attrs: dict[str, Any] = {
        "conversation_id": _thread(medium, customer, company),
        "message_id": sid,
        "author_role": "agent",
        "direction": "outbound",
        "medium": medium,
        "status": status,
        "error_code": error,
        "from": company.value,
        "messaging_service_sid": (params.get("MessagingServiceSid") or "").strip() or None,
        REVISION_KEY: f"{STATUS_RANK[status]}-{status}",
    }
    outcome = status.replace("_", " ") + (f" (error {error})" if error else "")
    summary = f"{MEDIUM_NAMES.get(medium, medium)} sent to the customer: {outcome}"
    return _event(sid, received_at, customer, summary, attrs)


def _event(
    sid: str, at: datetime, customer: Identifier, summary: str, attrs: dict[str, Any]
) -> CanonicalEvent:
    times = (at, at)
    return source_event(
        "webhook", SOURCE, sid, Channel.CHAT, "chat_message", times, [customer], summary, attrs
    )


def _address(params: Mapping[str, str], name: str, region: str) -> tuple[str, Identifier]:
    """(medium, phone) of a `From` / `To` address such as `whatsapp:+14155550100`."""
    raw = (params.get(name) or "").strip()
    prefix = _CHANNEL_PREFIX.match(raw)
    medium = prefix.group(1).lower() if prefix else "sms"
    number = raw[prefix.end() :] if prefix else raw
    ident = parse_ident(PHONE, number, region, name)
    if ident is None:
        raise InvalidEvent(f"{name}: is required (the phone number or channel address)")
    return medium, ident


def _thread(medium: str, customer: Identifier, company: Identifier) -> str:
    """The conversation between a customer's number and the company's, per medium."""
    kind = "sms" if medium == "mms" else medium
    return f"{kind}:{customer.value}:{company.value}"


def _count(params: Mapping[str, str], name: str) -> int:
    value = (params.get(name) or "").strip()
    if not value:
        return 0
    if not (value.isascii() and value.isdigit()) or len(value) > 4:
        raise InvalidEvent(f"{name}: must be a small whole number")
    return int(value)
