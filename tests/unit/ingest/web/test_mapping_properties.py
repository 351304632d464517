"""Property tests: whatever JSON arrives, the mapping returns events or raises InvalidEvent."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.web.mapping import KINDS, map_batch, map_message
from schemas import CanonicalEvent, InvalidEvent
from schemas.events import decode_event
from tests.support.strategies import json_values, timestamps

RECEIVED = datetime(2024, 11, 23, 12, 0, tzinfo=UTC)

ids = st.one_of(st.none(), st.text(max_size=30), st.integers(), st.booleans())
traits = st.fixed_dictionaries(
    {},
    optional={
        "email": st.one_of(st.emails(), st.text(max_size=20), json_values),
        "phone": st.one_of(st.from_regex(r"\+?[0-9 ()-]{0,16}", fullmatch=True), json_values),
    },
)
#: Messages shaped like Segment's, so the fuzzing reaches deep into the mapping.
segmentish = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from(sorted(KINDS)), json_values)},
    optional={
        "userId": ids,
        "anonymousId": ids,
        "previousId": ids,
        "groupId": ids,
        "messageId": ids,
        "event": st.one_of(st.text(max_size=30), json_values),
        "name": st.one_of(st.text(max_size=30), json_values),
        "timestamp": timestamps,
        "originalTimestamp": timestamps,
        "sentAt": timestamps,
        "traits": st.one_of(traits, json_values),
        "properties": json_values,
        "context": st.one_of(st.fixed_dictionaries({}, optional={"traits": traits}), json_values),
    },
)


def check(result: list[CanonicalEvent]) -> None:
    for event in result:
        # What the mapping accepts must survive the wire: consumers decode it back.
        assert decode_event(event.to_json()) == event


def attempt(body: Any, batch: bool) -> None:
    with contextlib.suppress(InvalidEvent):
        check(map_batch(body, RECEIVED) if batch else [map_message(body, RECEIVED)])


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_random_json_only_ever_raises_invalid_event(body: Any) -> None:
    attempt(body, batch=False)
    attempt(body, batch=True)
    attempt({"batch": [body]}, batch=True)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(segmentish, st.one_of(st.none(), json_values))
def test_segment_shaped_messages_only_ever_raise_invalid_event(
    msg: Any, batch_context: Any
) -> None:
    attempt(msg, batch=False)
    attempt({"batch": [msg], "context": batch_context, "sentAt": msg.get("sentAt")}, batch=True)
