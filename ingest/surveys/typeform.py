"""Pure mapping of Typeform `form_response` webhooks to survey events.

The score is the first `nps` answer (0-10); else the first `opinion_scale` answer (CSAT on
the field's scale: `steps` from 0, or from 1 with `start_at_one`); else the first `rating`
(CSAT, 1 to `steps` stars). When the form definition does not give `steps`, the score is
kept without a scale. A form without any of them is still a
`survey_response` on the timeline, without a score. The first text answer is the comment.

The respondent: hidden fields that name an identifier (`email`, `user_id`, `order_id`...)
or a name, and `email` / `phone_number` answers. `event_id` is
`typeform:<form_id>:<token>` (the response's own token) and the revision `submitted_at`,
so an edited response replaces the earlier one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from ingest.common import identifier_type_of, names_in, obj, text, try_identifier, unique
from ingest.surveys.scores import Answer, survey_event
from schemas import CanonicalEvent, Identifier, InvalidEvent
from schemas.identifiers import EMAIL, PHONE
from schemas.timestamps import parse_timestamp

SOURCE: Final = "typeform"
MAX_BODY_BYTES: Final = 1024 * 1024
TEXT_FIELDS: Final = ("long_text", "short_text")


def map_typeform(
    body: Any, received_at: datetime, default_region: str = "US"
) -> list[CanonicalEvent]:
    """Map one webhook; event types other than `form_response` give no event."""
    if not isinstance(body, Mapping):
        raise InvalidEvent("body: must be a JSON object (a Typeform webhook)")
    if text(body, "event_type", "event_type", required=True) != "form_response":
        return []
    form = obj(body, "form_response", "form_response")
    form_id = text(form, "form_id", "form_response.form_id", required=True)
    token = text(form, "token", "form_response.token", required=True)
    submitted = parse_timestamp(form.get("submitted_at"), "form_response.submitted_at")
    definition = obj(form, "definition", "form_response.definition")
    answers = form.get("answers") or []
    if not isinstance(answers, list):
        raise InvalidEvent("form_response.answers: must be a list")
    fields = {
        f.get("id"): f
        for f in definition.get("fields") or []
        if isinstance(f, Mapping) and isinstance(f.get("id"), str)
    }
    hidden = obj(form, "hidden", "form_response.hidden")
    metric, score, scale = _score(answers, fields)
    answer = Answer(
        source=SOURCE,
        response_id=f"{form_id}:{token}",
        responded_at=submitted,
        updated_at=submitted,
        identifiers=_identifiers(hidden, answers, default_region),
        metric=metric,
        score=score,
        scale=scale,
        comment=_first_text(answers),
        survey_id=form_id,
        survey_name=text(definition, "title", "form_response.definition.title"),
        extra={"traits": names_in(hidden) or None},
    )
    return [survey_event(answer, received_at, "form_response")]


def _field_type(answer: Mapping[str, Any]) -> str:
    field = answer.get("field")
    return str(field.get("type")) if isinstance(field, Mapping) else ""


def _score(
    answers: list[Any], fields: Mapping[Any, Mapping[str, Any]]
) -> tuple[str | None, float | None, tuple[int, int] | None]:
    """(metric, score, scale) of the answer that carries the survey's score, if any."""
    by_type: dict[str, Mapping[str, Any]] = {}
    for answer in answers:
        if isinstance(answer, Mapping) and answer.get("type") == "number":
            by_type.setdefault(_field_type(answer), answer)
    for field_type in ("nps", "opinion_scale", "rating"):
        answer = by_type.get(field_type)
        if answer is None:
            continue
        number = answer.get("number")
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise InvalidEvent(f"form_response.answers: the {field_type} answer has no number")
        if field_type == "nps":
            return "nps", number, (0, 10)
        field = answer.get("field")
        field_id = field.get("id") if isinstance(field, Mapping) else None
        props = fields.get(field_id, {}).get("properties") or {}
        props = props if isinstance(props, Mapping) else {}
        steps = props.get("steps")
        if isinstance(steps, bool) or not isinstance(steps, int) or not 2 <= steps <= 11:
            return "csat", number, None  # the webhook did not say: no scale is claimed
        if field_type == "rating":
            return "csat", number, (1, steps)
        low = 1 if props.get("start_at_one") else 0
        return "csat", number, (low, low + steps - 1)
    return None, None, None


def _identifiers(
    hidden: Mapping[str, Any], answers: list[Any], region: str
) -> tuple[Identifier, ...]:
    found = []
    for key, value in hidden.items():
        type_ = identifier_type_of(key)
        if type_ is not None:
            found.append(try_identifier(type_, value, region))
    for answer in answers:
        if not isinstance(answer, Mapping):
            continue
        if answer.get("type") == "email":
            found.append(try_identifier(EMAIL, answer.get("email"), region))
        elif answer.get("type") == "phone_number":
            found.append(try_identifier(PHONE, answer.get("phone_number"), region))
    return unique(found)


def _first_text(answers: list[Any]) -> str | None:
    for answer in answers:
        if (
            isinstance(answer, Mapping)
            and answer.get("type") == "text"
            and _field_type(answer) in TEXT_FIELDS
            and isinstance(answer.get("text"), str)
        ):
            return str(answer["text"])
    return None
