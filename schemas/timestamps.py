"""Source timestamps: ISO-8601 text to aware UTC datetimes, the one rule every adapter uses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from schemas.errors import InvalidEvent


def iso_to_utc(value: Any) -> datetime:
    """ISO-8601 text as an aware UTC datetime (naive is taken as UTC); ValueError if not."""
    if not isinstance(value, str):
        raise ValueError("must be an ISO-8601 string")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except (ValueError, OverflowError):
        raise ValueError("is not an ISO-8601 timestamp") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError("is not an ISO-8601 timestamp") from None


def parse_timestamp(value: Any, where: str) -> datetime:
    """`iso_to_utc`, raising `InvalidEvent` that names the field `where`."""
    try:
        return iso_to_utc(value)
    except ValueError as exc:
        raise InvalidEvent(f"{where}: {exc}") from None
