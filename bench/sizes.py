"""Benchmark sizes: `quick` while developing, `medium`, and `full` (1M customers, 10M events)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final


@dataclass(frozen=True)
class Size:
    """How much data and how long each phase runs."""

    name: str
    customers: int
    history_events: int
    pipeline_events: int
    raw_events: int
    scale_events: int
    freshness_s: float
    api_s: float
    soak_s: float
    api_rate: float = 200.0
    markers_per_s: float = 10.0
    concurrency: int = 8


SIZES: Final = {
    "quick": Size("quick", 10_000, 100_000, 20_000, 50_000, 20_000, 15, 10, 30),
    "medium": Size("medium", 100_000, 1_000_000, 60_000, 150_000, 50_000, 30, 30, 120),
    "full": Size("full", 1_000_000, 10_000_000, 200_000, 300_000, 100_000, 60, 60, 600),
}


def size(name: str, soak_s: float | None = None, api_rate: float | None = None) -> Size:
    """A named size, optionally with another soak length or API request rate."""
    chosen = SIZES[name]
    if soak_s is not None:
        chosen = replace(chosen, soak_s=soak_s)
    if api_rate is not None:
        chosen = replace(chosen, api_rate=api_rate)
    return chosen
