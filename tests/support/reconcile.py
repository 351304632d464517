"""Reconciliation of a fault test: every accepted event in exactly one timeline or dead letter."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from profile_store.storage.engines import make_sync_engine
from profile_store.storage.tables import customer_channels, dead_letters, timeline_events

REPORT = Path(__file__).resolve().parents[2] / "build" / "test-artifacts" / "reconciliation.log"


@dataclass(frozen=True)
class Figures:
    """The numbers every fault test prints: sent, accepted, where they ended, and the gaps."""

    scenario: str
    sent: int
    accepted: int
    in_timelines: int
    dead_lettered: int
    duplicated: int
    lost: int

    def line(self) -> str:
        return (
            f"reconciliation[{self.scenario}]: sent={self.sent} accepted={self.accepted} "
            f"in_timelines={self.in_timelines} dead_lettered={self.dead_lettered} "
            f"duplicated={self.duplicated} lost={self.lost}"
        )


def reconcile(
    database_url: str, scenario: str, prefix: str, sent: int, accepted: set[str]
) -> Figures:
    """Figures for the events whose ids start with `prefix` (`accepted`: acked event ids).

    Duplicated counts an event in two places (two rows, or a row and a dead letter) and
    channel counters that grew more than the rows they count (an aggregate applied twice).
    """
    engine = make_sync_engine(database_url)
    mine = timeline_events.c.event_id.like(f"{prefix}%")
    with engine.connect() as conn:
        rows = conn.execute(sa.select(timeline_events.c.event_id).where(mine)).scalars().all()
        owners = sa.select(timeline_events.c.customer_id).where(mine).distinct()
        counted = conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(customer_channels.c.event_count), 0)).where(
                customer_channels.c.customer_id.in_(owners)
            )
        ).scalar_one()
        owned_rows = conn.execute(
            sa.select(sa.func.count())
            .select_from(timeline_events)
            .where(timeline_events.c.customer_id.in_(owners))
        ).scalar_one()
        letters = conn.execute(
            sa.select(dead_letters.c.event_id, dead_letters.c.original).where(
                sa.func.position(sa.literal(prefix.encode()).op("IN")(dead_letters.c.original)) > 0
            )
        ).all()
    engine.dispose()
    in_rows = set(rows)
    dead_ids = {e for e, _ in letters if e}
    duplicated = (len(rows) - len(in_rows)) + len(in_rows & dead_ids) + max(0, counted - owned_rows)
    lost = len(accepted - in_rows - dead_ids)
    return Figures(scenario, sent, len(accepted), len(in_rows), len(letters), duplicated, lost)


def report(figures: Figures) -> None:
    """Print the figures (visible with -s / -rP) and append them to the artifacts log."""
    print(figures.line())
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    with REPORT.open("a") as out:
        out.write(figures.line() + "\n")
