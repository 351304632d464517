"""A Segment message's identity and time: its event id and when it happened (pure)."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final

import orjson

from schemas import InvalidEvent
from schemas.events import make_event_id
from schemas.timestamps import corrected, parse_timestamp

SOURCE: Final = "segment"
#: Fields that change between deliveries of the same message: left out of derived ids.
_VOLATILE: Final = frozenset({"sentAt", "writeKey", "receivedAt"})

#: Names a field of the message in errors (`batch[3].timestamp`).
Loc = Callable[[str], str]


def event_id(msg: Mapping[str, Any], loc: Loc) -> str:
    """`segment:<messageId>`, or a hash of the message's content without its volatile fields."""
    message_id = msg.get("messageId")
    if message_id is None:
        stable = {k: v for k, v in msg.items() if k not in _VOLATILE}
        digest = hashlib.sha256(orjson.dumps(stable, option=orjson.OPT_SORT_KEYS)).hexdigest()
        return make_event_id(SOURCE, f"content:{digest}")
    if isinstance(message_id, bool) or not isinstance(message_id, str | int):
        raise InvalidEvent(f"{loc('messageId')}: must be a string")
    text = str(message_id).strip()
    if not text or len(text) > 200:
        raise InvalidEvent(f"{loc('messageId')}: must be 1 to 200 characters")
    return make_event_id(SOURCE, text)


def time_of(
    msg: Mapping[str, Any], received_at: datetime, loc: Loc
) -> tuple[datetime, dict[str, str] | None]:
    """When it happened, and a note when the sender's time could not be true.

    The sender's time is `timestamp` (analytics.js 2.0, the server SDKs) or
    `originalTimestamp` (RudderStack); none: the time of receipt. With `sentAt` (the sender's
    clock when it sent), Segment's rule removes the sender's clock skew: receivedAt - (sentAt
    - time). A message holding both is Segment's own output, whose `timestamp` is corrected
    already. A time still ahead of receipt or before 2000 is replaced by the time of
    receipt, the given one kept in the note.
    """
    both = msg.get("timestamp") is not None and msg.get("originalTimestamp") is not None
    name = "timestamp" if both or msg.get("originalTimestamp") is None else "originalTimestamp"
    if msg.get(name) is None:
        return received_at, None
    at = parse_timestamp(msg[name], loc(name))
    if msg.get("sentAt") is not None and not both:
        sent_at = parse_timestamp(msg["sentAt"], loc("sentAt"))
        with contextlib.suppress(OverflowError):  # beyond year 1..9999: judged as given
            at = received_at - (sent_at - at)
    return corrected(at, received_at)
