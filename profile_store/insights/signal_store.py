"""Evaluate the moments-of-truth rules over recent timelines and keep the signals (an outbox
for Kafka and the webhook); idempotent per (rule, customer, anchor event)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from sqlalchemy import Engine, text

from profile_store.insights.rules import RuleConfig, Signal, evaluate
from profile_store.insights.stream import stream_timelines

MAX_BATCH: Final = 1_000
_CUSTOMERS_SINCE: Final = (
    "WHERE e.customer_id IN (SELECT customer_id FROM timeline_events "
    "WHERE occurred_at >= :since OR written_at >= :since)"
)
_INSERT: Final = text(
    """INSERT INTO customer_signals (rule, customer_id, anchor_event_id, raised_at, detail)
       VALUES (:rule, :customer_id, :anchor_event_id, :at, :detail)
       ON CONFLICT ON CONSTRAINT uq_customer_signals_anchor DO NOTHING"""
)


@dataclass(frozen=True)
class StoredSignal:
    """A signal row to deliver."""

    id: int
    rule: str
    customer_id: str
    anchor_event_id: str
    raised_at: datetime
    detail: str

    def payload(self) -> dict[str, Any]:
        """The JSON body sent to Kafka and the webhook (ids and rule only, no PII)."""
        return {
            "signal_id": self.id,
            "rule": self.rule,
            "customer_id": self.customer_id,
            "anchor_event_id": self.anchor_event_id,
            "raised_at": self.raised_at.isoformat(),
            "detail": self.detail,
        }


def record_signals(
    engine: Engine,
    config: RuleConfig,
    since: datetime,
    as_of: datetime,
    scope_since: datetime | None = None,
) -> int:
    """Evaluate every customer with an event that occurred or was written since `scope_since`
    (default `since`; their whole timeline); store the new signals raised since `since` (a
    moment long past, such as one found in history loaded today, is no moment to act on).
    Returns how many were new."""
    new = 0
    scope = {"since": scope_since or since}
    with engine.connect() as conn:
        reader = conn.execution_options(isolation_level="REPEATABLE READ")
        with reader.begin():
            batch: list[dict[str, Any]] = []
            for timeline in stream_timelines(reader, _CUSTOMERS_SINCE, scope):
                found = evaluate(timeline, config, as_of)
                batch += [vars_of(s) for s in found if s.at >= since]
                if len(batch) >= MAX_BATCH:
                    new += _insert(engine, batch)
            new += _insert(engine, batch)
    return new


def vars_of(signal: Signal) -> dict[str, Any]:
    """A `Signal` as insert parameters."""
    return {
        "rule": signal.rule,
        "customer_id": signal.customer_id,
        "anchor_event_id": signal.anchor_event_id,
        "at": signal.at,
        "detail": signal.detail,
    }


def _insert(engine: Engine, batch: list[dict[str, Any]]) -> int:
    if not batch:
        return 0
    with engine.begin() as conn:
        count = sum(conn.execute(_INSERT, row).rowcount for row in batch)
    batch.clear()
    return count


Target = Literal["published_at", "webhook_at"]


def pending(engine: Engine, target: Target, limit: int = MAX_BATCH) -> list[StoredSignal]:
    """Signals not yet delivered to `target`, oldest first."""
    sql = text(
        "SELECT id, rule, customer_id, anchor_event_id, raised_at, detail "  # noqa: S608
        f"FROM customer_signals WHERE {_column(target)} IS NULL ORDER BY id LIMIT :limit"
    )
    with engine.connect() as conn:
        return [StoredSignal(*row) for row in conn.execute(sql, {"limit": limit})]


def mark_delivered(engine: Engine, target: Target, ids: Sequence[int]) -> None:
    """Record that `ids` reached `target`."""
    if not ids:
        return
    sql = text(
        f"UPDATE customer_signals SET {_column(target)} = now() WHERE id = ANY(:ids)"  # noqa: S608
    )
    with engine.begin() as conn:
        conn.execute(sql, {"ids": list(ids)})


def _column(target: Target) -> str:
    if target not in ("published_at", "webhook_at"):
        raise ValueError(f"unknown delivery target {target!r}")
    return target
