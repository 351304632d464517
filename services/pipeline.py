"""The worker's batch handler, independent of Faust: decode, write, dead-letter; never raise.

Faust acks every record of a `take` batch once the agent body returns or raises, so this
handler must not let an exception escape: poison records are dead-lettered with their
original bytes, and transient database failures are retried until they succeed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import structlog

from profile_store.storage.errors import IdentityBusy, StoreRefused, StoreUnavailable
from profile_store.write.writer import TimelineWriter, WriteResult
from schemas.deadletter import Component, DeadLetter, Failure, FailureType
from schemas.errors import InvalidEvent
from schemas.events import CanonicalEvent, decode_event, utc_now
from schemas.screen_pops import ScreenPop, screen_pop_of
from services import metrics

log = structlog.get_logger("threadline.worker")

T = TypeVar("T")
DeadLetterSink = Callable[[Sequence[DeadLetter]], Awaitable[None]]
#: Records screen pops (pop, event id) once their events are written; how many were new.
PopSink = Callable[[Sequence[tuple[ScreenPop, str]]], Awaitable[int]]


@dataclass(frozen=True)
class Record:
    """One Kafka record as the handler needs it."""

    value: bytes
    key: bytes | None = None
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None


@dataclass(frozen=True)
class BatchOutcome:
    """Counts for one processed batch."""

    written: int
    duplicates: int
    dead_lettered: int


def is_transient(exc: BaseException) -> bool:
    """Errors worth retrying: the database is unreachable or restarting, or the customers a
    batch touches kept changing (`profile_store.storage.errors`), never the data."""
    return isinstance(exc, StoreUnavailable | IdentityBusy)


def write_failure(exc: BaseException) -> Failure:
    """Why an event could not be written: the database's refusal (condition and SQLSTATE, no
    value), or the type of an unexpected exception."""
    if isinstance(exc, StoreRefused):
        return Failure(type=FailureType.DATABASE_REFUSED, message=str(exc))
    return Failure.unexpected(exc)


class BatchProcessor:
    """Turns a batch of Kafka records into timeline rows or dead letters."""

    def __init__(
        self,
        writer: TimelineWriter,
        store_dead: DeadLetterSink,
        publish_dead: DeadLetterSink | None = None,
        max_backoff_s: float = 30.0,
        record_pops: PopSink | None = None,
    ) -> None:
        self.writer, self.store_dead, self.publish_dead = writer, store_dead, publish_dead
        self.max_backoff_s, self.record_pops = max_backoff_s, record_pops

    async def process(self, records: Sequence[Record]) -> BatchOutcome:
        """Process a batch; returns once every record is written or dead-lettered."""
        started = time.perf_counter()
        metrics.EVENTS_CONSUMED.inc(len(records))
        metrics.BATCH_SIZE.observe(len(records))
        events: list[tuple[CanonicalEvent, Record]] = []
        dead: list[DeadLetter] = []
        for rec in records:
            try:
                events.append((decode_event(rec.value), rec))
            except InvalidEvent as exc:
                dead.append(self._dead(Component.WORKER_DECODE, Failure.invalid_event(exc), rec))
            except Exception as exc:  # a decoder bug must not lose the batch: dead-letter it
                log.error("decode_failed_unexpectedly", error=type(exc).__name__)
                dead.append(self._dead(Component.WORKER_DECODE, Failure.unexpected(exc), rec))
        written = duplicates = 0
        if events:
            results, poison = await self._write_isolating_poison(events)
            written = sum(r.written for r in results)
            duplicates = sum(r.duplicates for r in results)
            dead.extend(poison)
            await self._pop(events)
        if dead:
            await self._retrying(lambda: self.store_dead(dead), "store dead letters")
            for d in dead:
                metrics.DEAD_LETTERS.labels(d.component).inc()
            if self.publish_dead is not None:
                try:
                    await self.publish_dead(dead)
                except Exception:
                    log.warning("deadletter_publish_failed", count=len(dead), exc_info=True)
        metrics.BATCH_SECONDS.observe(time.perf_counter() - started)
        metrics.DUPLICATES.inc(duplicates)
        return BatchOutcome(written, duplicates, len(dead))

    async def _pop(self, events: Sequence[tuple[CanonicalEvent, Record]]) -> None:
        """Record the screen pops the batch's events ask for (after their write, so a pop
        names the customer the call landed on). Retried while the database is away; any
        other failure loses only the pop, never the batch."""
        pops = [(p, e.event_id) for e, _ in events if (p := screen_pop_of(e.attributes))]
        if not pops or self.record_pops is None:
            return
        delay = 0.2
        while True:
            try:
                metrics.SCREEN_POPS.inc(await self.record_pops(pops))
                return
            except Exception as exc:
                if not is_transient(exc):
                    log.error("screen_pops_not_recorded", error=type(exc).__name__, count=len(pops))
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff_s)

    async def _write_isolating_poison(
        self, events: list[tuple[CanonicalEvent, Record]]
    ) -> tuple[list[WriteResult], list[DeadLetter]]:
        """Write the batch; if the data itself fails, bisect to dead-letter only the culprits."""
        try:
            result = await self._retrying(
                lambda: self.writer.write([e for e, _ in events]), "write batch", reraise_data=True
            )
        except Exception as exc:
            if len(events) == 1:
                event, rec = events[0]
                log.error("event_dead_lettered", event_id=event.event_id, reason=type(exc).__name__)
                failure = write_failure(exc)
                return [], [self._dead(Component.WORKER_WRITE, failure, rec, event.event_id)]
            mid = len(events) // 2
            left = await self._write_isolating_poison(events[:mid])
            right = await self._write_isolating_poison(events[mid:])
            return left[0] + right[0], left[1] + right[1]
        self._observe(result, [e for e, _ in events])
        return [result], []

    async def _retrying(
        self, action: Callable[[], Awaitable[T]], what: str, reraise_data: bool = False
    ) -> T:
        """Retry transient failures with capped exponential backoff, until cancelled."""
        delay = 0.2
        while True:
            try:
                return await action()
            except Exception as exc:
                if not is_transient(exc):
                    if reraise_data:
                        raise
                    log.error("unexpected_failure", what=what, error=type(exc).__name__)
                elif delay >= 1.6:
                    log.warning(
                        "transient_failure", what=what, error=type(exc).__name__, retry_in=delay
                    )
                metrics.DB_RETRIES.inc()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff_s)

    def _observe(self, result: WriteResult, events: list[CanonicalEvent]) -> None:
        metrics.MERGES.inc(result.merges)
        metrics.CUSTOMERS_CREATED.inc(result.new_customers)
        metrics.IDENTITY_CONFLICTS.inc(result.conflicts)
        metrics.ERASED_DROPPED.inc(result.erased)
        metrics.CUSTOMERS_REDERIVED.inc(result.rederived)
        if result.written:
            now = utc_now()
            for e in events:
                if e.event_id not in result.written_ids:
                    continue
                metrics.EVENTS_WRITTEN.labels(e.channel.value, e.source).inc()
                metrics.LAG_SECONDS.observe(max(0.0, (now - e.received_at).total_seconds()))

    @staticmethod
    def _dead(
        component: Component, failure: Failure, rec: Record, event_id: str | None = None
    ) -> DeadLetter:
        return DeadLetter.of(
            component,
            failure,
            rec.value,
            utc_now(),
            topic=rec.topic,
            partition=rec.partition,
            offset=rec.offset,
            key=rec.key,
            event_id=event_id,
        )
