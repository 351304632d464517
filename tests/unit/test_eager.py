"""Eager starts of Faust's per-message deliveries: same outcomes as tasks, without the tasks."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from mode import Service

from services.eager import start_eagerly
from services.kafka_consumer import wait_first_eagerly


async def _no_wait(log: list[str]) -> str:
    log.append("ran")
    return "done"


async def _waits(gate: asyncio.Event, log: list[str]) -> str:
    log.append("started")
    await gate.wait()
    log.append("resumed")
    return "done later"


async def _fails_at_once() -> None:
    raise ValueError("bad message")


async def test_a_coroutine_that_does_not_suspend_finishes_without_a_task() -> None:
    log: list[str] = []
    assert start_eagerly(_no_wait(log)) == (True, "done")
    assert log == ["ran"]


async def test_a_coroutine_that_suspends_continues_as_a_task() -> None:
    gate, log = asyncio.Event(), []
    finished, task = start_eagerly(_waits(gate, log))
    assert not finished and log == ["started"]
    gate.set()
    assert await task == "done later"
    assert log == ["started", "resumed"]


async def test_cancelling_the_continuation_cancels_the_coroutine() -> None:
    gate, log = asyncio.Event(), []
    _, task = start_eagerly(_waits(gate, log))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert log == ["started"]


async def test_errors_before_the_first_suspension_propagate() -> None:
    with pytest.raises(ValueError, match="bad message"):
        start_eagerly(_fails_at_once())


class _Service(Service):
    pass


async def test_wait_first_returns_the_eager_outcome_and_never_starts_the_rest() -> None:
    service, log = _Service(), []
    other = asyncio.Event()
    result = await wait_first_eagerly(
        service, service.wait_first, (_no_wait(log), other.wait()), None
    )
    assert (result.results, result.stopped) == (["done"], False)


async def test_wait_first_still_lets_the_second_win_when_the_first_suspends() -> None:
    service, gate, log = _Service(), asyncio.Event(), []
    suspend = asyncio.Event()
    suspend.set()
    result: Any = await wait_first_eagerly(
        service, service.wait_first, (_waits(gate, log), suspend.wait()), None
    )
    assert result.results == [True] and log == ["started"]  # the delivery was abandoned


async def test_wait_first_falls_back_for_events_and_a_stopped_service() -> None:
    service = _Service()
    ready = asyncio.Event()
    ready.set()
    result: Any = await wait_first_eagerly(service, service.wait_first, (ready,), None)
    assert result.results == [True]
    service._stopped.set()
    stopped: Any = await wait_first_eagerly(service, service.wait_first, (_no_wait([]),), None)
    assert stopped.stopped
