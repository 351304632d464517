"""NPS / CSAT / CES responses: golden samples beside this file, the `cx` attribute convention."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from ingest.chat.common import TooLarge
from ingest.surveys.mapping import MAX_RESPONSES, map_responses
from ingest.surveys.scores import nps_category
from schemas import CanonicalEvent, InvalidEvent
from schemas.events import REVISION_KEY, decode_event

SAMPLES = Path(__file__).with_name("samples")
RECEIVED = datetime(2024, 11, 24, 9, 0, tzinfo=UTC)
CX_KEYS = {
    "metric",
    "score",
    "scale_max",
    "comment",
    "survey_id",
    "related_channel",
    "related_event_id",
    REVISION_KEY,
}


def sample(name: str) -> dict[str, Any]:
    data = orjson.loads((SAMPLES / f"{name}.json").read_bytes())
    assert isinstance(data, dict)
    return data


def idents(event: CanonicalEvent) -> set[tuple[str, str]]:
    return {(i.type, i.value) for i in event.identifiers}


def one(body: dict[str, Any]) -> CanonicalEvent:
    [event] = map_responses(body, RECEIVED)
    assert decode_event(event.to_json()) == event
    return event


def test_nps_golden() -> None:
    event = one(sample("nps"))
    assert (event.channel, event.kind, event.source) == ("survey", "survey_response", "survey")
    assert event.event_id == "survey:resp-2024-11-23-0077"
    assert event.occurred_at == datetime(2024, 11, 23, 12, 30, tzinfo=UTC)
    assert idents(event) == {
        ("email", "maria.lopez@example.com"),
        ("phone", "+14155550132"),
        ("order_id", "W-5001"),
    }
    assert event.attributes == {
        "metric": "nps",
        "score": 9,
        "scale_max": 10,
        "comment": "Collection in store was quick and the chat agent was helpful.",
        "survey_id": "relationship-nps-q4",
        "related_channel": "store",
        "nps_category": "promoter",
        REVISION_KEY: "2024-11-23T12:30:00.000000Z",
    }
    assert event.summary == (
        "Survey: NPS 9/10 (promoter): Collection in store was quick and the chat agent was helpful."
    )


def test_batch_golden() -> None:
    csat, ces, csat10 = map_responses(sample("responses_batch"), RECEIVED)
    # Absent values are left out (no comment on the CSAT answer).
    assert set(csat.attributes) == CX_KEYS - {"comment"}
    assert set(ces.attributes) == CX_KEYS - {"related_event_id"}
    assert csat.attributes["scale_max"] == 5 and csat.summary == "Survey: CSAT 4/5"
    assert csat.attributes["related_channel"] == "chat"
    assert csat.attributes["related_event_id"].startswith("twilio-conversations:IM")
    assert ("conversation_id", "CH8f3a9d2c1b4e6f7a8b9c0d1e2f3a4b5c") in idents(csat)
    assert ces.attributes["scale_max"] == 7 and ces.summary == "Survey: CES 2/7: Easy, one call."
    assert idents(ces) == {("phone", "+14155550132")}
    assert csat10.attributes["scale_max"] == 10 and csat10.attributes["score"] == 9
    # An edited response keeps its event id; the later revision wins in the timeline.
    assert csat10.attributes[REVISION_KEY] == "2024-11-24T08:02:30.000000Z"
    assert csat10.occurred_at == datetime(2024, 11, 24, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("score", "category"), [(0, "detractor"), (6, "detractor"), (7, "passive"), (8, "passive"),
                            (9, "promoter"), (10, "promoter")],
)  # fmt: skip
def test_nps_categories(score: int, category: str) -> None:
    assert nps_category(score) == category
    body = {**sample("nps"), "score": score}
    assert one(body).attributes["nps_category"] == category


def test_float_scores_are_kept_and_whole_floats_become_integers() -> None:
    base = {**sample("nps"), "metric": "csat"}
    base.pop("related")
    assert one({**base, "score": 4.0}).attributes["score"] == 4
    assert isinstance(one({**base, "score": 4.0}).attributes["score"], int)
    assert one({**base, "score": 3.5}).attributes["score"] == 3.5


def test_respondent_may_be_found_through_a_reference_only() -> None:
    body = {**sample("nps"), "respondent": None}
    assert idents(one(body)) == {("order_id", "W-5001")}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"score": 11}, "body.score: NPS scores must be 0 to 10"),
        ({"score": -1}, "body.score: NPS scores must be 0 to 10"),
        ({"metric": "csat", "score": 0}, "body.score: CSAT scores must be 1 to 5"),
        ({"metric": "csat", "score": 6}, "body.score: CSAT scores must be 1 to 5"),
        ({"metric": "csat", "score": 8, "scale_max": 7}, "body.score: CSAT scores must be 1 to 7"),
        ({"metric": "ces", "score": 8}, "body.score: CES scores must be 1 to 7"),
        ({"scale_max": 5}, "body.scale_max: NPS is always scored 0 to 10"),
        ({"metric": "csat", "scale_max": 11}, "body.scale_max:"),
        ({"metric": "csat", "scale_max": "5"}, "body.scale_max:"),
        ({"score": "9"}, "body.score"),
        ({"score": True}, "body.score"),
        ({"score": None}, "body.score"),
        ({"metric": "ces-2"}, "body.metric:"),
        ({"response_id": ""}, "body.response_id:"),
        ({"responded_at": "last week"}, "body.responded_at:"),
        ({"respondent": {"email": "maria"}}, "body.respondent.email:"),
        ({"respondent": {"mobile": "+14155550132"}}, "body.respondent.mobile:"),
        ({"related": {"channel": "fax"}}, "body.related.channel:"),
        ({"related": {"order_id": " "}}, "body.related.order_id:"),
        ({"respondent": {}, "related": {}}, "body.respondent: an identifier"),
        ({"nps": 9}, "body.nps:"),
    ],
)
def test_bad_responses_name_the_field(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidEvent) as info:
        map_responses({**sample("nps"), **change}, RECEIVED)
    assert str(info.value).startswith(reason)


def test_one_bad_response_fails_the_batch() -> None:
    body = sample("responses_batch")
    body["responses"][1]["score"] = 99
    with pytest.raises(InvalidEvent, match=r"^responses\[1\]\.score: CES scores must be 1 to 7"):
        map_responses(body, RECEIVED)


def test_limits() -> None:
    with pytest.raises(TooLarge):
        map_responses({"responses": [sample("nps")] * (MAX_RESPONSES + 1)}, RECEIVED)
    with pytest.raises(TooLarge):
        map_responses({**sample("nps"), "comment": "x" * 20_000}, RECEIVED)
