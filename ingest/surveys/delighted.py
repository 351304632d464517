"""Pure mapping of Delighted webhooks (`survey_response.created` / `.updated`) to survey events.

The respondent is `event_data.person`: email, phone and Delighted's person id identify
them, and their `name` is a name trait; `person_properties` that name an identifier
(`Customer ID`, `Order ID`...) add it. `event_id` is `delighted:<response id>` and the
revision `updated_at`, so the update that adds a comment replaces the first score.
Other event types (`unsubscribe.created`) are acknowledged without an event.

Scales follow Delighted's survey types: NPS and eNPS 0-10, CSAT, smileys and 5-star 1-5,
CSAT3 1-3, CES 1-5 (`ces7` 1-7); other types are kept on the timeline without a scale.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from ingest.common import (
    identifier_type_of,
    name_traits,
    obj,
    text,
    try_identifier,
    unique,
)
from ingest.surveys.scores import Answer, survey_event
from schemas import CanonicalEvent, Identifier, InvalidEvent
from schemas.identifiers import EMAIL, PHONE

SOURCE: Final = "delighted"
MAX_BODY_BYTES: Final = 256 * 1024
MAPPED: Final = frozenset({"survey_response.created", "survey_response.updated"})
PERSON_ID: Final = "delighted_person_id"
#: survey_type -> (metric, lowest, highest)
SURVEY_TYPES: Final = {
    "nps": ("nps", 0, 10),
    "enps": ("enps", 0, 10),
    "csat": ("csat", 1, 5),
    "csat3": ("csat", 1, 3),
    "smileys": ("csat", 1, 5),
    "five_star": ("csat", 1, 5),
    "stars": ("csat", 1, 5),
    "ces": ("ces", 1, 5),
    "ces7": ("ces", 1, 7),
}


def map_delighted(
    body: Any, received_at: datetime, default_region: str = "US"
) -> list[CanonicalEvent]:
    """Map one webhook; an unmapped event type gives no event."""
    if not isinstance(body, Mapping):
        raise InvalidEvent("body: must be a JSON object (a Delighted webhook)")
    event_type = text(body, "event_type", "event_type", required=True)
    if event_type not in MAPPED:
        return []
    data = obj(body, "event_data", "event_data")
    raw_id = data.get("id")
    response_id = str(raw_id) if isinstance(raw_id, int) else text(data, "id", "event_data.id")
    if response_id is None or isinstance(raw_id, bool):
        raise InvalidEvent("event_data.id: is required (the survey response id)")
    created = _unix(data.get("created_at"), "event_data.created_at")
    updated = _unix(data.get("updated_at") or data.get("created_at"), "event_data.updated_at")
    person = obj(data, "person", "event_data.person")
    survey_type = (text(data, "survey_type", "event_data.survey_type") or "nps").lower()
    metric, low, high = SURVEY_TYPES.get(survey_type, (survey_type, 0, 0))
    score = data.get("score")
    if isinstance(score, bool) or not isinstance(score, int | float):
        raise InvalidEvent("event_data.score: must be a number")
    answer = Answer(
        source=SOURCE,
        response_id=response_id,
        responded_at=created,
        updated_at=updated,
        identifiers=_identifiers(data, person, default_region),
        metric=metric,
        score=score,
        scale=(low, high) if survey_type in SURVEY_TYPES else None,
        comment=text(data, "comment", "event_data.comment") if data.get("comment") else None,
        extra={
            "survey_type": survey_type,
            "permalink": text(data, "permalink", "event_data.permalink"),
            "traits": name_traits(person.get("name")) or None,
        },
    )
    return [survey_event(answer, received_at, "event_data")]


def _identifiers(
    data: Mapping[str, Any], person: Mapping[str, Any], region: str
) -> tuple[Identifier, ...]:
    found = [
        try_identifier(EMAIL, person.get("email"), region),
        try_identifier(PHONE, person.get("phone_number"), region),
        try_identifier(PERSON_ID, person.get("id"), region),
    ]
    for key, value in obj(data, "person_properties", "event_data.person_properties").items():
        type_ = identifier_type_of(key)
        if type_ is not None:
            found.append(try_identifier(type_, value, region))
    return unique(found)


def _unix(value: Any, where: str) -> datetime:
    """Delighted's Unix-second timestamps."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidEvent(f"{where}: must be a Unix timestamp in seconds")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise InvalidEvent(f"{where}: is out of range") from None
