"""Opaque keyset cursors for timeline pages: the `(occurred_at, id)` of the last item seen."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from typing import Final

import orjson

from profile_store.read.errors import InvalidCursor

MAX_CURSOR_LENGTH: Final = 200
_CURSOR_PATTERN: Final = re.compile(r"^[A-Za-z0-9_-]+$")
_MAX_ROW_ID: Final = 2**63 - 1
_MALFORMED: Final = "cursor is malformed: pass back a next_cursor value unchanged"


def encode_cursor(occurred_at: datetime, row_id: int) -> str:
    """Opaque keyset cursor: url-safe base64 (unpadded) of orjson `[occurred_at iso, id]`."""
    raw = orjson.dumps([occurred_at.astimezone(UTC).isoformat(), row_id])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The `(occurred_at, id)` position a cursor names, or raise `InvalidCursor`."""
    if not cursor or len(cursor) > MAX_CURSOR_LENGTH or not _CURSOR_PATTERN.match(cursor):
        raise InvalidCursor(_MALFORMED)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = orjson.loads(raw)
    except (binascii.Error, ValueError):
        raise InvalidCursor(_MALFORMED) from None
    if not (isinstance(data, list) and len(data) == 2 and isinstance(data[0], str)):
        raise InvalidCursor("cursor does not name a timeline position")
    row_id = data[1]
    if isinstance(row_id, bool) or not isinstance(row_id, int) or not 0 < row_id <= _MAX_ROW_ID:
        raise InvalidCursor("cursor does not name a timeline position")
    try:
        occurred_at = datetime.fromisoformat(data[0])
    except ValueError:
        raise InvalidCursor("cursor does not name a timeline position") from None
    if occurred_at.tzinfo is None:
        raise InvalidCursor("cursor does not name a timeline position")
    return occurred_at, row_id
