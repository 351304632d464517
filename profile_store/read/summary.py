"""The profile's "what's going on" summary: last contact, recent contacts, open threads, latest
order and latest survey score; the rules, over rows `profile_store.read.profile` loads.

Each part is bounded and served by an index: the latest row by `ix_timeline_customer_time`,
the conversations and orders by the partial indexes of migration 0004 (their predicates are
kept here exactly as there, as SQL text, so the planner can always match them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from profile_store.read.summary_models import (
    ContactOut,
    LatestOrder,
    LatestScore,
    OpenThread,
)

RECENT_DAYS: Final = 7
#: Counting recent contacts stops here (`capped`), so a bot-like history stays cheap.
RECENT_CAP: Final = 1000
#: Conversation messages examined for open threads, newest first.
CONVERSATION_WINDOW: Final = 200
MAX_OPEN_THREADS: Final = 10
#: Must match migration 0004's partial index predicates character for character.
CONVERSATIONS_SQL: Final = "channel IN ('email', 'chat')"
#: Assisted contacts (everything but web activity): "Last contact" is the latest of these.
#: Must match migration 0008's partial index predicate character for character.
CONTACTS_SQL: Final = "channel <> 'web'"
ORDERS_SQL: Final = (
    "kind IN ('order_placed', 'order_fulfilled', 'order_collected', 'order_cancelled', 'return')"
)
_REPLY_ROLES: Final = frozenset({"agent", "bot"})


@dataclass(frozen=True)
class Message:
    """One email or chat event, as the open-thread rule reads it."""

    event_id: str
    channel: str
    kind: str
    occurred_at: datetime
    summary: str
    attributes: Mapping[str, Any]


def _thread_of(m: Message) -> str | None:
    key = m.attributes.get("thread_id" if m.channel == "email" else "conversation_id")
    if isinstance(key, str) and key:
        return key
    return m.event_id if m.channel == "email" else None


def _direction(m: Message) -> str | None:
    """`in` for the customer's message, `reply` for ours (or a closed chat), else None."""
    if m.kind == "email_received":
        return "in"
    if m.kind == "email_sent" or m.kind == "chat_ended":
        return "reply"
    if m.kind == "chat_message":
        role = m.attributes.get("author_role", "customer")
        if role == "customer":
            return "in"
        return "reply" if role in _REPLY_ROLES else None
    return None


def open_threads(
    newest_first: Iterable[Message], limit: int = MAX_OPEN_THREADS
) -> list[OpenThread]:
    """Threads whose latest message (by the given order) is the customer's, newest first."""
    decided: set[tuple[str, str]] = set()
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for m in newest_first:
        thread, direction = _thread_of(m), _direction(m)
        if thread is None or direction is None:
            continue
        key = (m.channel, thread)
        if key in decided:
            continue
        if direction == "reply":
            decided.add(key)
            continue
        entry = found.get(key)
        if entry is None:
            found[key] = {
                "channel": m.channel,
                "thread_id": thread,
                "waiting_since": m.occurred_at,
                "last_at": m.occurred_at,
                "summary": m.summary,
                "event_id": m.event_id,
            }
        else:
            entry["waiting_since"] = m.occurred_at
    threads = [OpenThread(**e) for e in found.values()]
    threads.sort(key=lambda t: t.last_at, reverse=True)
    return threads[:limit]


def latest_score(cx: Mapping[str, Any]) -> LatestScore | None:
    """The most recent of the stored survey scores (`cx`), or None."""
    best: LatestScore | None = None
    for metric, entry in cx.items():
        if not isinstance(entry, Mapping) or not isinstance(entry.get("at"), str):
            continue
        score = entry.get("score")
        if isinstance(score, bool) or not isinstance(score, int | float):
            continue
        if best is None or entry["at"] > best.at:
            scale = entry.get("scale_max")
            best = LatestScore(
                metric=metric,
                score=score,
                scale_max=scale if isinstance(scale, int | float) else None,
                at=entry["at"],
            )
    return best


def order_out(row: Mapping[str, Any]) -> LatestOrder:
    """The latest-order entry from an order event's row (as a mapping)."""
    attrs = row.get("attributes")
    attrs = attrs if isinstance(attrs, dict) else {}
    name = attrs.get("order_name") or attrs.get("order_id")
    total, currency = attrs.get("total"), attrs.get("currency")
    return LatestOrder(
        **ContactOut.model_validate(row).model_dump(),
        order=str(name) if name is not None else None,
        total=str(total) if isinstance(total, str | int | float) else None,
        currency=currency if isinstance(currency, str) else None,
    )
