"""Start a coroutine eagerly: run it until it first suspends, and only then make it a task.

Python 3.12 has this built in (`asyncio.eager_task_factory`); on 3.11 Faust's fetch loop
pays two tasks and an `asyncio.wait` per Kafka message to deliver it into a stream buffer,
which almost never has to wait. Started eagerly, a delivery that does not suspend costs a
function call; one that does continues as an ordinary task from where it suspended.
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Coroutine, Generator
from typing import Any


def start_eagerly(coro: Coroutine[Any, Any, Any]) -> tuple[bool, Any]:
    """`(True, result)` if `coro` finished without suspending, else `(False, task)` with a
    task that continues it. Exceptions raised before the first suspension propagate."""
    try:
        yielded = coro.send(None)
    except StopIteration as stop:
        return True, stop.value
    return False, asyncio.ensure_future(_resume(coro, yielded))


@types.coroutine
def _resume(coro: Coroutine[Any, Any, Any], yielded: Any) -> Generator[Any, Any, Any]:
    """Drive `coro` on from a suspension: what it waits for is handed to the driving task,
    and what the task sends or throws (cancellation) is passed on to `coro`."""
    while True:
        try:
            value = yield yielded
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as exc:
            try:
                yielded = coro.throw(exc)
            except StopIteration as stop:
                return stop.value
            continue
        try:
            yielded = coro.send(value)
        except StopIteration as stop:
            return stop.value
