"""Small pure helpers of the call-centre mappings: seconds fields and call durations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas import InvalidEvent


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


def duration_text(total: int) -> str:
    """`4m 12s`, `1h 3m`, `45s`."""
    hours, rest = divmod(max(total, 0), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"
