"""Profile traits survivorship (pure): each trait keeps its latest value by `occurred_at`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Trait keys that are identifiers, not traits: they live in the identity graph instead.
IDENTIFIER_KEYS = frozenset({"email", "phone", "user_id", "userId", "anonymous_id", "anonymousId"})
MAX_TRAITS = 100


def merge_traits(
    current: Mapping[str, Any], updates: Mapping[str, Any], at: str, source: str
) -> dict[str, Any]:
    """Fold `updates` observed at ISO time `at` into stored `current` traits.

    Stored form: `{key: {"value": v, "at": iso, "source": s}}`. A trait changes only if the
    update is at least as recent as what is stored, so arrival order does not matter.
    """
    merged = dict(current)
    for key, value in updates.items():
        if key in IDENTIFIER_KEYS or not isinstance(key, str):
            continue
        held = merged.get(key)
        if held is not None and (held.get("at") or "") > at:
            continue
        if held is None and len(merged) >= MAX_TRAITS:
            continue
        merged[key] = {"value": value, "at": at, "source": source}
    return merged


def combine_stored(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """Combine two customers' stored traits on a merge: latest per key wins."""
    merged = dict(a)
    for key, held in b.items():
        mine = merged.get(key)
        if mine is None or (held.get("at") or "") > (mine.get("at") or ""):
            merged[key] = held
    return merged


def flatten(stored: Mapping[str, Any]) -> dict[str, Any]:
    """The output form: `{key: value}`."""
    return {k: v.get("value") for k, v in stored.items()}
