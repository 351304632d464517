"""Faust's aiokafka consumer with a configurable fetch wait and a cheaper delivery loop.

Faust hard-codes `fetch_max_wait_ms=1500`. A broker that answers a fetch only when the wait
expires, not when data arrives (Tansu, the embedded broker, measured at ~400 ms median per
record), then adds up to 1.5 s to every event's freshness. A short wait costs a few more
fetch requests per second on an idle topic.

Faust's fetch loop hands each message to the streams with `wait_first(deliver(message),
suspend_flow.wait())`, which costs four tasks and an `asyncio.wait` per message (~12 % of a
busy worker's CPU). The consumer here starts the delivery eagerly (`services.eager`): when
it finishes without suspending, as it does unless the stream buffer is full, no task is
made; otherwise it goes on exactly as before.
"""

from __future__ import annotations

import asyncio
from typing import Any

import faust
from faust.transport.drivers import aiokafka as driver
from mode.services import WaitResults

from services.eager import start_eagerly


class _ConsumerThread(driver.AIOKafkaConsumerThread):
    fetch_max_wait_ms = 100

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # Read by AIOKafkaConsumer.start() when it builds its Fetcher (aiokafka 0.14).
        consumer._fetch_max_wait_ms = self.fetch_max_wait_ms
        return consumer


def set_fetch_max_wait(app: faust.App, fetch_max_wait_ms: int) -> None:
    """Make `app`'s stream consumer wait at most `fetch_max_wait_ms` for a fetch answer."""
    transport: Any = app.transport
    base: Any = transport.Consumer
    thread = type("ConsumerThread", (_ConsumerThread,), {"fetch_max_wait_ms": fetch_max_wait_ms})

    class Consumer(base):
        def _new_consumer_thread(self) -> Any:
            return thread(self, loop=self.loop, beacon=self.beacon)

        # mode's signature, hence the `timeout` parameter.
        async def wait_first(self, *coros: Any, timeout: Any = None) -> Any:  # noqa: ASYNC109
            return await wait_first_eagerly(self, super().wait_first, coros, timeout)

    transport.Consumer = Consumer


async def wait_first_eagerly(service: Any, wait_first: Any, coros: Any, limit: Any) -> Any:
    """mode's `Service.wait_first(*coros)`, but with the first coroutine started eagerly:
    if it finishes before suspending, that is the outcome and the others never start."""
    if (
        limit is not None
        or not coros
        or not all(asyncio.iscoroutine(c) for c in coros)
        or service._stopped.is_set()
        or service._crashed.is_set()
    ):
        return await wait_first(*coros, timeout=limit)
    first, rest = coros[0], coros[1:]
    try:
        finished, value = start_eagerly(first)
    except BaseException:
        for other in rest:
            other.close()
        raise
    if not finished:
        return await wait_first(value, *rest)
    for other in rest:
        other.close()
    return WaitResults([first], [value], False)
