"""Source timestamps: ISO-8601 text to aware UTC datetimes, and which source times to believe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final

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


#: How far a source's clock may run ahead of the time of receipt before its time is not
#: believed (network delay and ordinary clock drift stay well inside it).
CLOCK_TOLERANCE: Final = timedelta(minutes=5)
#: No customer interaction is older: earlier times are a reset clock (1970) or a default
#: value (0001-01-01), never a real moment.
EARLIEST: Final = datetime(2000, 1, 1, tzinfo=UTC)
#: `attributes` key of an event whose source time was replaced by the time of receipt.
CLOCK_CORRECTED: Final = "clock_corrected"


def implausible(at: datetime, received_at: datetime) -> str | None:
    """Why `at` cannot be when something received at `received_at` happened, or None."""
    if at > received_at + CLOCK_TOLERANCE:
        return f"is {_span(at - received_at)} after the time of receipt (the sender's clock)"
    if at < EARLIEST:
        return f"is before {EARLIEST.date().isoformat()} (a reset clock or a default value)"
    return None


def believed(at: datetime, received_at: datetime, where: str) -> datetime:
    """`at`, or `InvalidEvent` naming `where` when it is implausible: for routes whose sender
    sets the time itself and can correct it."""
    problem = implausible(at, received_at)
    if problem is not None:
        raise InvalidEvent(f"{where}: {problem}")
    return at


def corrected(at: datetime, received_at: datetime) -> tuple[datetime, dict[str, str] | None]:
    """`at`, or the time of receipt when `at` is implausible, with a note of what was given
    (for `attributes[CLOCK_CORRECTED]`): for clocks nobody can correct (a browser, a vendor)."""
    if implausible(at, received_at) is None:
        return at, None
    reason = "ahead_of_receipt" if at > received_at else "before_earliest"
    return received_at, {"given": at.isoformat(), "reason": reason}


def _span(delta: timedelta) -> str:
    for unit, seconds in (("days", 86_400), ("hours", 3_600), ("minutes", 60)):
        if delta.total_seconds() >= 2 * seconds:
            return f"{int(delta.total_seconds() // seconds):,} {unit}"
    return f"{int(delta.total_seconds())} seconds"
