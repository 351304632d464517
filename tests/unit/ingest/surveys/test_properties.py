"""Property tests: whatever arrives, the survey mapping returns events or raises InvalidEvent."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.surveys.mapping import SCALES, map_responses
from schemas import InvalidEvent
from schemas.events import decode_event
from tests.support.strategies import finite_json_values as json_values

RECEIVED = datetime(2024, 11, 23, 12, 0, tzinfo=UTC)

idents = st.one_of(st.emails(), st.from_regex(r"\+?[0-9 ()-]{0,16}", fullmatch=True), json_values)
surveyish = st.fixed_dictionaries(
    {
        "response_id": st.one_of(st.text(max_size=20), json_values),
        "metric": st.one_of(st.sampled_from(sorted(SCALES)), json_values),
        "score": st.one_of(st.integers(-3, 12), st.floats(-1, 11), json_values),
        "responded_at": st.one_of(
            st.datetimes().map(lambda d: d.isoformat()),
            st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
            json_values,
        ),
    },
    optional={
        "scale_max": st.one_of(st.integers(0, 12), json_values),
        "comment": st.one_of(st.text(max_size=40), json_values),
        "respondent": st.one_of(
            json_values, st.fixed_dictionaries({}, optional={"email": idents, "phone": idents})
        ),
        "related": st.one_of(
            json_values,
            st.fixed_dictionaries(
                {},
                optional={
                    "channel": st.one_of(st.sampled_from(["chat", "store"]), json_values),
                    "order_id": json_values,
                },
            ),
        ),
    },
)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(json_values, surveyish))
def test_responses_only_ever_raise_invalid_event(body: Any) -> None:
    for attempt in (body, {"responses": [body]}):
        with contextlib.suppress(InvalidEvent):
            for event in map_responses(attempt, RECEIVED):
                assert decode_event(event.to_json()) == event
                low, _ = SCALES[event.attributes["metric"]]
                assert event.attributes["score"] >= low
                assert event.attributes["score"] <= event.attributes["scale_max"]
