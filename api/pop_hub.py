"""Screen pops to the consoles open on this API process: one poll for all of them.

The worker records a pop once the call's event is in a timeline (`screen_pops`); every API
process polls the new rows (one indexed range read every `SCREEN_POP_POLL_INTERVAL`, only
while a console is open on it) and hands each to the open consoles of the agent it names.
Several API processes each serve their own consoles, so the pop reaches the agent whichever
process holds the stream, and never another agent's.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import structlog

from api.deps import read_connection
from profile_store.read.screen_pops import LOOKBACK_IDS, PopRow, pops_after, pops_high_water
from profile_store.storage.driver import ReadPool
from profile_store.storage.errors import StoreUnavailable

log = structlog.get_logger()

#: Pops waiting for one console before the oldest are dropped (a console that stopped reading).
QUEUE_SIZE = 32


class PopHub:
    """The open consoles of this process by agent name, and the one poll that feeds them."""

    def __init__(self, interval: float, max_age: timedelta) -> None:
        self.interval, self.max_age = interval, max_age
        self._queues: dict[str, set[asyncio.Queue[PopRow]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._last: int | None = None
        self._delivered: set[int] = set()

    @property
    def consoles(self) -> int:
        """How many consoles are listening."""
        return sum(len(q) for q in self._queues.values())

    def subscribe(self, agent: str, pool: ReadPool | None) -> asyncio.Queue[PopRow]:
        """A queue of `agent`'s pops from now on; the poll runs while any queue is open."""
        queue: asyncio.Queue[PopRow] = asyncio.Queue(QUEUE_SIZE)
        self._queues.setdefault(agent, set()).add(queue)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(pool), name="screen-pop-hub")
        return queue

    def unsubscribe(self, agent: str, queue: asyncio.Queue[PopRow]) -> None:
        """Stop delivering to `queue` (the console went away)."""
        held = self._queues.get(agent)
        if held is not None:
            held.discard(queue)
            if not held:
                del self._queues[agent]

    async def close(self) -> None:
        """Stop polling (the app is shutting down)."""
        self._queues.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self, pool: ReadPool | None) -> None:
        try:
            while self._queues:
                try:
                    await self._poll(pool)
                except StoreUnavailable as exc:
                    log.warning(
                        "screen_pop_poll_failed", error_type=type(exc.__cause__ or exc).__name__
                    )
                await asyncio.sleep(self.interval)
        finally:
            self._last, self._delivered = None, set()

    async def _poll(self, pool: ReadPool | None) -> None:
        async with read_connection(pool) as conn:
            if self._last is None:
                self._last = await pops_high_water(conn)  # consoles get pops from now on
            low = max(0, self._last - LOOKBACK_IDS)
            rows = await pops_after(conn, low, datetime.now(UTC), self.max_age)
        for row in rows:
            if row.id in self._delivered:
                continue
            self._delivered.add(row.id)
            for queue in self._queues.get(row.agent, ()):
                _offer(queue, row)
        if rows:
            self._last = max(self._last, rows[-1].id)
        self._delivered = {i for i in self._delivered if i > self._last - LOOKBACK_IDS}


def _offer(queue: asyncio.Queue[PopRow], row: PopRow) -> None:
    """Queue `row`, dropping the oldest waiting pop of a console that is not reading."""
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(row)
