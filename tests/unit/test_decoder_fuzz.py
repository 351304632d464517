"""Fuzz the worker's decoder: random and mutated bytes only ever decode or raise InvalidEvent."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from schemas import CanonicalEvent, InvalidEvent
from schemas.deadletter import DeadLetter
from schemas.events import decode_event
from services import pipeline
from tests.support.events import event
from tests.support.fuzz import mutated_records, valid_events
from tests.support.strategies import json_values

REGRESSION = event("fz-0", ("email", "ana@shop.io")).to_json()


def attempt(raw: bytes) -> CanonicalEvent | None:
    try:
        event = decode_event(raw)
    except InvalidEvent as exc:
        assert str(exc), "the error must name the problem"
        return None
    # What decodes re-encodes to the same event: nothing half-understood gets through.
    assert decode_event(event.to_json()) == event
    return event


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes(raw: bytes) -> None:
    attempt(raw)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_random_json(value: Any) -> None:
    try:
        raw = orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        return
    attempt(raw)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_records())
# Found by this test: an invalid identifier type escaped as InvalidIdentifier, not InvalidEvent.
@example(raw=REGRESSION.replace(b'"type":"email"', b'"type":""'))
@example(raw=REGRESSION.replace(b'"ana@shop.io"', b'"not an address"'))
def test_mutated_canonical_events(raw: bytes) -> None:
    attempt(raw)


async def test_an_unexpected_decoder_failure_is_dead_lettered_not_raised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(raw: bytes) -> CanonicalEvent:
        raise RuntimeError("decoder bug")

    monkeypatch.setattr(pipeline, "decode_event", broken)
    dead: list[DeadLetter] = []

    async def store(letters: Sequence[DeadLetter]) -> None:
        dead.extend(letters)

    processor = pipeline.BatchProcessor(None, store)  # type: ignore[arg-type]
    outcome = await processor.process([pipeline.Record(REGRESSION, b"k", "t", 0, 7)])
    assert (outcome.written, outcome.dead_lettered) == (0, 1)
    assert dead[0].component == "worker.decode" and dead[0].original == REGRESSION
    assert dead[0].failure.message == "unexpected RuntimeError" and dead[0].offset == 7


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(valid_events())
def test_valid_events_always_decode(event: CanonicalEvent) -> None:
    assert attempt(event.to_json()) == event
