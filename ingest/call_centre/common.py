"""Small pure helpers shared by the call-centre mappings (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pydantic import ValidationError

from schemas import CanonicalEvent, Identifier, InvalidEvent, InvalidIdentifier
from schemas.events import describe_validation_error

MAX_SUMMARY: Final = 500


def obj(data: Mapping[str, Any], name: str, where: str) -> Mapping[str, Any]:
    """`data[name]` as an object (absent or null gives `{}`), else `InvalidEvent`."""
    value = data.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidEvent(f"{where}: must be an object")
    return value


def text(data: Mapping[str, Any], name: str, where: str, *, required: bool = False) -> str | None:
    """`data[name]` as a non-blank string, None when absent; `InvalidEvent` when mistyped."""
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidEvent(f"{where}: is required")
        return None
    if not isinstance(value, str):
        raise InvalidEvent(f"{where}: must be a string")
    if len(value) > 1024:
        raise InvalidEvent(f"{where}: is longer than 1024 characters")
    return value.strip()


def seconds(data: Mapping[str, Any], name: str, where: str) -> int | None:
    """A whole, non-negative number of seconds, None when absent."""
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise InvalidEvent(f"{where}: must be a number of seconds")
    if value < 0 or value > 10**9:
        raise InvalidEvent(f"{where}: must be between 0 and 10^9 seconds")
    return int(value)


def try_identifier(type_: str, value: Any, region: str) -> Identifier | None:
    """The identifier, or None when `value` is blank or cannot be one (the caller notes it)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return Identifier.parse(type_, value, region)
    except InvalidIdentifier:
        return None


def unique(identifiers: list[Identifier]) -> tuple[Identifier, ...]:
    """Identifiers without repeats, first occurrence kept."""
    seen: dict[tuple[str, str], Identifier] = {}
    for ident in identifiers:
        seen.setdefault((ident.type, ident.value), ident)
    return tuple(seen.values())


def duration_text(total: int) -> str:
    """`4m 12s`, `1h 3m`, `45s`."""
    hours, rest = divmod(max(total, 0), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def clip(line: str) -> str:
    """One line of at most `MAX_SUMMARY` characters."""
    flat = " ".join(line.split())
    return flat if len(flat) <= MAX_SUMMARY else flat[: MAX_SUMMARY - 1] + "…"


def build(where: str, **fields: Any) -> CanonicalEvent:
    """A `CanonicalEvent`, with pydantic errors turned into a field-naming `InvalidEvent`."""
    try:
        return CanonicalEvent(**fields)
    except ValidationError as exc:
        raise InvalidEvent(f"{where}: {describe_validation_error(exc)}") from None
