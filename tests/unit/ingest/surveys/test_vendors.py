"""Delighted and Typeform webhooks, golden payloads from each vendor's documentation.

`delighted_survey_response_updated.json`: the "Example request body for a survey_response
object" of delighted.com/docs/api/webhooks. `typeform_form_response.json`: Typeform's
"Example webhook payload" (typeform.com/developers/webhooks/example-payload), as quoted in
full in public Typeform integrations.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from ingest.surveys.delighted import map_delighted
from ingest.surveys.typeform import map_typeform
from schemas import CanonicalEvent, InvalidEvent
from schemas.events import REVISION_KEY, decode_event
from tests.support.ingest_app import json_sample

RECEIVED = datetime(2024, 11, 26, 9, 0, tzinfo=UTC)


def sample(name: str) -> dict[str, Any]:
    data = json_sample(f"surveys/samples/{name}.json")
    assert isinstance(data, dict)
    return data


def one(events: list[CanonicalEvent]) -> CanonicalEvent:
    [event] = events
    assert decode_event(event.to_json()) == event
    return event


def idents(event: CanonicalEvent) -> set[tuple[str, str]]:
    return {(i.type, i.value) for i in event.identifiers}


def test_delighted_golden() -> None:
    event = one(map_delighted(sample("delighted_survey_response_updated"), RECEIVED))
    assert event.event_id == "delighted:5435"
    assert (event.channel, event.kind, event.source) == ("survey", "survey_response", "delighted")
    assert event.occurred_at == datetime.fromtimestamp(1537474818, UTC)
    assert event.summary == "Survey: NPS 9/10 (promoter): Your service is fast and flawless!"
    assert idents(event) == {
        ("email", "charlie_gravis@example.com"),
        ("delighted_person_id", "5975"),
    }
    attrs = event.attributes
    assert {k: attrs[k] for k in ("metric", "score", "scale_max", "nps_category")} == {
        "metric": "nps",
        "score": 9,
        "scale_max": 10,
        "nps_category": "promoter",
    }
    assert attrs["traits"] == {
        "name": "Charlie Gravis",
        "first_name": "Charlie",
        "last_name": "Gravis",
    }
    assert attrs[REVISION_KEY] == "2018-09-20T20:30:18.000000Z"


def test_delighted_update_replaces_the_created_response() -> None:
    updated = sample("delighted_survey_response_updated")
    created = copy.deepcopy(updated)
    created["event_type"] = "survey_response.created"
    created["event_data"].update(comment=None, updated_at=created["event_data"]["created_at"])
    first, later = one(map_delighted(created, RECEIVED)), one(map_delighted(updated, RECEIVED))
    assert first.event_id == later.event_id
    assert first.attributes[REVISION_KEY] < later.attributes[REVISION_KEY]
    assert "comment" not in first.attributes and first.summary == "Survey: NPS 9/10 (promoter)"


def test_delighted_types_scales_properties_and_other_events() -> None:
    body = sample("delighted_survey_response_updated")
    body["event_data"].update(
        survey_type="ces7", score=6, person_properties={"Customer ID": "cust-42", "Plan": "Gold"}
    )
    event = one(map_delighted(body, RECEIVED))
    assert (event.attributes["metric"], event.attributes["scale_max"]) == ("ces", 7)
    assert ("user_id", "cust-42") in idents(event)
    body["event_data"].update(survey_type="thumbs", score=1)
    thumbs = one(map_delighted(body, RECEIVED))
    assert thumbs.attributes["metric"] == "thumbs" and "scale_max" not in thumbs.attributes
    unsubscribe = {"event_type": "unsubscribe.created", "event_data": {"person_id": "5975"}}
    assert map_delighted(unsubscribe, RECEIVED) == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"score": 11}, "event_data.score: 11 is outside the scale 0 to 10"),
        ({"score": "9"}, "event_data.score: must be a number"),
        ({"created_at": "yesterday"}, "event_data.created_at: must be a Unix timestamp"),
        ({"person": {"id": None, "email": "not an email"}}, "event_data: names no respondent"),
    ],
)
def test_delighted_refusals_name_the_field(change: dict[str, Any], reason: str) -> None:
    body = sample("delighted_survey_response_updated")
    body["event_data"].update(change)
    with pytest.raises(InvalidEvent, match=f"^{reason}"):
        map_delighted(body, RECEIVED)


def test_typeform_golden() -> None:
    event = one(map_typeform(sample("typeform_form_response"), RECEIVED))
    assert event.event_id == "typeform:lT4Z3j:a3a12ec67a1365927098a606107fac15"
    assert (event.channel, event.kind, event.source) == ("survey", "survey_response", "typeform")
    assert event.occurred_at == datetime(2018, 1, 18, 18, 17, 2, tzinfo=UTC)
    assert idents(event) == {("email", "laura@example.com")}
    attrs = event.attributes
    # The opinion-scale answer is the score; the definition gives no steps, so no scale.
    assert (attrs["metric"], attrs["score"], attrs["survey_id"]) == ("csat", 2, "lT4Z3j")
    assert "scale_max" not in attrs
    assert attrs["comment"].startswith("It's cold right now!")
    assert event.summary.startswith("Survey: CSAT 2: It's cold right now!")


def test_typeform_nps_hidden_fields_and_scales() -> None:
    body = sample("typeform_form_response")
    form = body["form_response"]
    form["hidden"] = {"user_id": "cust-42", "order_id": "#1001", "name": "Laura Palmer"}
    form["definition"]["fields"].append({"id": "npsQ1", "type": "nps", "title": "Recommend?"})
    form["answers"].append(
        {"type": "number", "number": 10, "field": {"id": "npsQ1", "type": "nps"}}
    )
    event = one(map_typeform(body, RECEIVED))
    assert idents(event) >= {("user_id", "cust-42"), ("order_id", "1001")}
    assert event.attributes["traits"]["last_name"] == "Palmer"
    assert event.summary.startswith("Survey: NPS 10/10 (promoter)")
    form["answers"].pop()
    scale = next(f for f in form["definition"]["fields"] if f["type"] == "opinion_scale")
    scale["properties"] = {"steps": 5, "start_at_one": True}
    scored = one(map_typeform(body, RECEIVED))
    assert (scored.attributes["score"], scored.attributes["scale_max"]) == (2, 5)


def test_typeform_other_events_and_refusals() -> None:
    assert map_typeform({"event_id": "x", "event_type": "form_response_partial"}, RECEIVED) == []
    body = sample("typeform_form_response")
    body["form_response"]["answers"] = [
        a for a in body["form_response"]["answers"] if a["type"] != "email"
    ]
    with pytest.raises(InvalidEvent, match=r"^form_response: names no respondent"):
        map_typeform(body, RECEIVED)
    body = sample("typeform_form_response")
    body["form_response"]["submitted_at"] = "soon"
    with pytest.raises(InvalidEvent, match=r"^form_response\.submitted_at:"):
        map_typeform(body, RECEIVED)
