"""One canonical `survey_response` from any survey tool's answer: score, scale, summary, cx keys.

`attributes` follow the convention the worker reads into the profile's `cx`: `metric`
(`nps`, `csat`, `ces` are kept as the latest score; other metrics stay on the timeline
only), `score`, `scale_max`, `comment`, `survey_id`, `related_channel`, `related_event_id`,
and `nps_category` for NPS; `revision` is the response's last change, so an edited
response replaces the earlier version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from ingest.common import excerpt, source_event
from schemas import CanonicalEvent, Channel, Identifier, InvalidEvent
from schemas.events import REVISION_KEY, revision_stamp

COMMENT_EXCERPT: Final = 2000
LABELS: Final = {"nps": "NPS", "csat": "CSAT", "ces": "CES", "enps": "eNPS"}


@dataclass(frozen=True)
class Answer:
    """What a respondent said, in a survey tool's terms, ready to become one event."""

    source: str
    response_id: str
    responded_at: datetime
    updated_at: datetime
    identifiers: tuple[Identifier, ...]
    metric: str | None = None
    score: float | None = None
    scale: tuple[int, int] | None = None
    comment: str | None = None
    survey_id: str | None = None
    survey_name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def nps_category(score: float) -> str:
    """Promoter (9-10), passive (7-8) or detractor (0-6)."""
    if score >= 9:
        return "promoter"
    return "passive" if score >= 7 else "detractor"


def _plain(score: float) -> int | float:
    return int(score) if isinstance(score, float) and score.is_integer() else score


def survey_event(answer: Answer, received_at: datetime, where: str) -> CanonicalEvent:
    """The `survey_response` event of `answer`; InvalidEvent when it names no one."""
    if not answer.identifiers:
        raise InvalidEvent(f"{where}: names no respondent (no email, phone or customer id)")
    comment = excerpt(answer.comment, COMMENT_EXCERPT)
    attrs: dict[str, Any] = {
        "metric": answer.metric,
        "comment": comment,
        "survey_id": answer.survey_id,
        "survey_name": answer.survey_name,
        **answer.extra,
    }
    label = answer.survey_name or "response"
    if answer.metric is not None and answer.score is not None:
        score = _plain(answer.score)
        attrs["score"] = score
        label = f"{LABELS.get(answer.metric, answer.metric)} {score}"
        if answer.scale is not None:
            low, high = answer.scale
            if not low <= score <= high:
                raise InvalidEvent(f"{where}.score: {score} is outside the scale {low} to {high}")
            attrs["scale_max"] = high
            if low != 1 and answer.metric != "nps":
                attrs["scale_min"] = low
            label += f"/{high}"
        if answer.metric == "nps":
            attrs["nps_category"] = nps_category(score)
            label += f" ({attrs['nps_category']})"
    attrs[REVISION_KEY] = revision_stamp(max(answer.responded_at, answer.updated_at))
    summary = f"Survey: {label}" + (f": {comment}" if comment else "")
    times = (answer.responded_at, received_at)
    return source_event(
        where,
        answer.source,
        answer.response_id,
        Channel.SURVEY,
        "survey_response",
        times,
        answer.identifiers,
        summary,
        attrs,
    )
