"""Builders for canonical events in tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from schemas import CanonicalEvent, Identifier
from schemas.trust import Trust

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def ident(type_: str, raw: str) -> Identifier:
    return Identifier.parse(type_, raw)


def event(
    event_id: str,
    *idents: tuple[str, str],
    minutes: int = 0,
    channel: str = "web",
    kind: str = "page_viewed",
    attributes: dict[str, Any] | None = None,
    trust: Trust = Trust.SERVER,
    claims: tuple[tuple[str, str], ...] = (),
    source: str = "test",
) -> CanonicalEvent:
    at = T0 + timedelta(minutes=minutes)
    return CanonicalEvent(
        event_id=event_id,
        channel=channel,
        kind=kind,
        occurred_at=at,
        received_at=at + timedelta(seconds=1),
        source=source,
        identifiers=tuple(ident(t, v) for t, v in idents),
        summary=f"{kind} {event_id}",
        attributes=attributes or {},
        trust=trust,
        claims=tuple(ident(t, v) for t, v in claims),
    )
