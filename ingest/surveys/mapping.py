"""Pure mapping of NPS / CSAT / CES survey responses to canonical `survey` events (no I/O).

Input: one response, or `{"responses": [...]}` of up to `MAX_RESPONSES` (all or nothing):

    {"response_id": "resp-77", "survey_id": "post-chat-csat",
     "metric": "nps" | "csat" | "ces",
     "score": 9,                  # NPS 0-10; CSAT 1-scale_max (default 5); CES 1-scale_max (7)
     "scale_max": 5,              # optional, CSAT/CES only (2 to 10); NPS is always 10
     "comment": "Quick and friendly",
     "responded_at": "2024-11-23T12:30:00Z",
     "updated_at": "2024-11-23T12:31:10Z",   # optional: a later edit of the same response
     "respondent": {"email", "phone", "user_id", "anonymous_id", "loyalty_id"},
     "related": {"channel": "chat", "event_id": "twilio-conversations:IM...",
                 "order_id": "W-5001", "conversation_id": "CH..."}}

`attributes` follow the convention the worker reads into the profile's `cx`:
`metric`, `score`, `scale_max`, `comment`, `survey_id`, `related_channel`,
`related_event_id`, and `nps_category` (promoter 9-10, passive 7-8, detractor 0-6) for
NPS; plus `revision` (the latest of `responded_at` / `updated_at`), so an edited response
replaces the earlier version. A related order or conversation becomes a reference
identifier. At least one respondent identifier or related reference is required.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from ingest.chat.common import (
    CONVERSATION_ID,
    Key,
    PersonIds,
    UtcTime,
    items_of,
    person_identifiers,
    validate_item,
)
from ingest.common import parse_ident, unique
from ingest.surveys.scores import LABELS, Answer, survey_event
from schemas import CanonicalEvent, Channel, InvalidEvent
from schemas.identifiers import ORDER_ID
from schemas.timestamps import believed

SOURCE: Final = "survey"
MAX_RESPONSE_BYTES: Final = 16 * 1024
MAX_BODY_BYTES: Final = 512 * 1024
MAX_RESPONSES: Final = 1000
#: Lowest score and default highest score of each metric.
SCALES: Final = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}

Score = (
    Annotated[int, Field(strict=True)] | Annotated[float, Field(strict=True, allow_inf_nan=False)]
)


class Related(BaseModel):
    """The interaction the response is about (all optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: Channel | None = None
    event_id: Key | None = None
    order_id: Key | None = None
    conversation_id: Key | None = None


class SurveyResponseIn(BaseModel):
    """One survey response as a survey tool posts it (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    response_id: Key
    survey_id: Key | None = None
    metric: Literal["nps", "csat", "ces"]
    score: Score
    scale_max: Annotated[int, Field(strict=True, ge=2, le=10)] | None = None
    comment: str | None = Field(default=None, max_length=10_000)
    responded_at: UtcTime
    updated_at: UtcTime | None = None
    respondent: PersonIds | None = None
    related: Related | None = None


def map_responses(
    body: Any, received_at: datetime, default_region: str = "US"
) -> list[CanonicalEvent]:
    """Map a `/surveys/responses` body (one response or `{"responses": [...]}`)."""
    events = []
    for where, item in items_of(body, "responses", MAX_RESPONSES):
        response = validate_item(SurveyResponseIn, item, where, MAX_RESPONSE_BYTES)
        events.append(map_response(response, received_at, default_region, where))
    return events


def scale_of(response: SurveyResponseIn, where: str) -> tuple[int, int]:
    """(lowest, highest) score of the response's scale; InvalidEvent if it does not fit."""
    low, high = SCALES[response.metric]
    if response.scale_max is not None:
        if response.metric == "nps" and response.scale_max != 10:
            raise InvalidEvent(f"{where}.scale_max: NPS is always scored 0 to 10")
        high = response.scale_max
    if not low <= response.score <= high:
        label = LABELS[response.metric]
        raise InvalidEvent(f"{where}.score: {label} scores must be {low} to {high}")
    return low, high


def map_response(
    response: SurveyResponseIn, received_at: datetime, region: str, where: str = "body"
) -> CanonicalEvent:
    """Map one validated response."""
    related = response.related or Related()
    identifiers = unique(
        [
            *person_identifiers(response.respondent, region, f"{where}.respondent"),
            parse_ident(ORDER_ID, related.order_id, region, f"{where}.related.order_id"),
            parse_ident(
                CONVERSATION_ID, related.conversation_id, region, f"{where}.related.conversation_id"
            ),
        ]
    )
    if not identifiers:
        raise InvalidEvent(
            f"{where}.respondent: an identifier (email, phone, user_id, anonymous_id, "
            "loyalty_id) or related.order_id / related.conversation_id is required"
        )
    related_attrs = {
        "related_channel": related.channel.value if related.channel else None,
        "related_event_id": related.event_id,
    }
    answer = Answer(
        source=SOURCE,
        response_id=response.response_id,
        responded_at=believed(response.responded_at, received_at, f"{where}.responded_at"),
        updated_at=believed(
            response.updated_at or response.responded_at, received_at, f"{where}.updated_at"
        ),
        identifiers=identifiers,
        metric=response.metric,
        score=response.score,
        scale=scale_of(response, where),
        comment=response.comment,
        survey_id=response.survey_id,
        extra={k: v for k, v in related_attrs.items() if v is not None},
    )
    return survey_event(answer, received_at, where)
