"""Customer-experience scores on the profile (pure): the latest score per survey metric."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

METRICS = frozenset({"nps", "csat", "ces"})


def fold_score(
    current: Mapping[str, Any], attributes: Mapping[str, Any], at: str, event_id: str
) -> dict[str, Any]:
    """Fold a `survey_response`'s attributes observed at ISO time `at` into stored scores.

    A metric changes only if this response is at least as recent as the stored one, so the
    profile shows the latest score whatever the arrival order.
    """
    metric, score = attributes.get("metric"), attributes.get("score")
    if metric not in METRICS or isinstance(score, bool) or not isinstance(score, int | float):
        return dict(current)
    held = current.get(metric)
    if held is not None and (held.get("at") or "") > at:
        return dict(current)
    entry: dict[str, Any] = {"score": score, "at": at, "event_id": event_id}
    for key in ("scale_max", "nps_category", "comment", "related_channel"):
        if attributes.get(key) is not None:
            entry[key] = attributes[key]
    return {**current, metric: entry}
