"""Publishes canonical events to Kafka and returns only once the broker acknowledged them."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping, Sequence
from typing import Any, Final, Protocol

import structlog
from kafka import KafkaProducer
from kafka.errors import KafkaError

from ingest import IngestError
from ingest.producer_state import (
    PRODUCER_STATE_ERRORS,
    KeyHashCachingPartitioner,
    PhantomAck,
    close_in_background,
    has_producer_id,
)
from ingest.settings import IngestSettings
from schemas import CanonicalEvent, topics
from schemas.deadletter import DeadLetter

log = structlog.get_logger()

#: After a failed connection attempt, fail fast for this long instead of retrying per request.
RECONNECT_BACKOFF_S: Final = 1.0


#: (key, value, headers) of one Kafka record.
_Record = tuple[bytes | None, bytes, list[tuple[str, bytes]]]


class PublishError(IngestError):
    """The broker is unreachable or did not acknowledge every event in time."""


class Publisher(Protocol):
    """What the HTTP transports need from a publisher (lets tests substitute one)."""

    async def publish(self, events: Sequence[CanonicalEvent]) -> None:
        """Publish all `events`; return once every one is acknowledged, else raise."""

    async def publish_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        """Publish to the dead-letter topic; return once every one is acknowledged."""

    async def ready(self, timeout_s: float = 2.0) -> bool:
        """True if the broker answers a metadata request within `timeout_s`."""

    async def close(self) -> None:
        """Flush what is buffered and release the connection."""


class KafkaPublisher:
    """A kafka-python producer (acks=all, idempotent) bridged to asyncio without extra threads.

    The producer connects lazily in a worker thread, so a gateway starts (and reports not
    ready) while the broker is down; afterwards `send` never blocks the event loop because
    the topic's metadata is fetched before the first send.

    An acknowledgement only counts with a real offset: kafka-python reports a broker's
    DUPLICATE_SEQUENCE_NUMBER as success with offset -1, which is what a broker that lost its
    state (and hands out the same producer id again) answers for records it never stored.
    Such an ack, and any error that leaves the producer's idempotence state out of step with
    the broker (unknown producer id, out-of-order sequence, fenced epoch, expired batches),
    fails the request and retires the producer; the next request starts a fresh one.
    """

    def __init__(
        self,
        bootstrap: str,
        *,
        timeout_s: float = 10.0,
        client_options: Mapping[str, Any] | None = None,
        topic: str = topics.INTERACTIONS,
    ) -> None:
        self.topic = topic
        self.timeout_s = timeout_s
        connect_ms = int(min(timeout_s, 5.0) * 1000)
        self._config: dict[str, Any] = {
            "bootstrap_servers": bootstrap.split(","),
            "client_id": "threadline-ingest",
            "acks": "all",
            "enable_idempotence": True,
            "linger_ms": 2,
            # Larger batches than the 16 KiB default: fewer produce requests and sender
            # wake-ups per HTTP request of 100 events.
            "batch_size": 256 * 1024,
            "partitioner": KeyHashCachingPartitioner(),
            "max_block_ms": connect_ms,
            "bootstrap_timeout_ms": connect_ms,
            "request_timeout_ms": int(timeout_s * 1000),
            "delivery_timeout_ms": int(timeout_s * 1000) + 1000,
            "reconnect_backoff_max_ms": 2000,
            **(client_options or {}),
        }
        self._producer: Any = None
        self._lock = asyncio.Lock()
        self._retry_at = 0.0
        self._closed = False
        #: Set after a failure that retired the producer, cleared by the next full ack.
        self._failing: str | None = None
        #: Closed while the publisher is held (the dev stack swaps its broker meanwhile).
        self._open = asyncio.Event()
        self._open.set()
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @classmethod
    def from_settings(cls, settings: IngestSettings) -> KafkaPublisher:
        """A publisher for the configured broker, security options and timeout."""
        return cls(
            settings.kafka_bootstrap,
            timeout_s=settings.publish_timeout_s,
            client_options=settings.kafka_client_options(),
        )

    def _connect(self) -> Any:
        """Blocking: create the producer and load the topic's metadata (worker thread)."""
        producer = KafkaProducer(**self._config)
        try:
            producer.partitions_for(self.topic)
        except BaseException:
            producer.close(timeout=0)
            raise
        return producer

    async def _get_producer(self) -> Any:
        if self._producer is not None:
            return self._producer
        if self._closed:
            raise PublishError("publisher is closed")
        async with self._lock:
            if self._producer is None:
                if time.monotonic() < self._retry_at:
                    raise PublishError("broker unavailable (retrying shortly)")
                try:
                    self._producer = await asyncio.to_thread(self._connect)
                except (KafkaError, OSError) as exc:
                    self._retry_at = time.monotonic() + RECONNECT_BACKOFF_S
                    log.warning("kafka_connect_failed", error_type=type(exc).__name__)
                    raise PublishError(f"broker unavailable: {type(exc).__name__}") from None
                log.info("kafka_connected", topic=self.topic)
        return self._producer

    def _retire(self, producer: Any, reason: str) -> None:
        """Stop using `producer` (its state no longer matches the broker's); the next
        request connects a new one, which gets a new producer id."""
        self._failing = reason
        if self._producer is producer:
            self._producer = None
            log.warning("kafka_producer_retired", reason=reason)
            # Nothing it still holds can be trusted to be acknowledged; close it off-loop.
            close_in_background(producer)

    async def start(self) -> None:
        """Try to connect now (a failure is logged, not raised: readiness reports it)."""
        with contextlib.suppress(PublishError):
            await self._get_producer()

    async def publish(self, events: Sequence[CanonicalEvent]) -> None:
        """Send every event to the interactions topic; return when all are acknowledged."""
        await self._send(
            self.topic,
            [(e.kafka_key(), e.to_json(), e.cloudevents_headers()) for e in events],
        )

    async def publish_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        """Send records the gateway accepted but could not map to `threadline.deadletter`
        (in the worker's dead-letter record shape); return when all are acknowledged."""
        await self._send(topics.DEADLETTER, [(d.key, d.to_json(), []) for d in letters])

    async def _send(self, topic: str, records: Sequence[_Record]) -> None:
        if not records:
            return
        deadline = time.monotonic() + self.timeout_s
        if not self._open.is_set():
            try:
                await asyncio.wait_for(self._open.wait(), self.timeout_s)
            except TimeoutError:
                raise PublishError("publishing is paused (broker switch-over)") from None
        self._in_flight += 1
        self._idle.clear()
        try:
            await self._publish(topic, records, deadline)
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def _publish(self, topic: str, records: Sequence[_Record], deadline: float) -> None:
        producer = await self._get_producer()
        if producer._metadata.partitions_for_topic(topic) is None:
            await asyncio.to_thread(producer.partitions_for, topic)
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        pending = len(records)

        def acked(metadata: Any) -> None:
            nonlocal pending
            if getattr(metadata, "offset", -1) < 0:
                failed(PhantomAck())
                return
            pending -= 1
            if pending == 0 and not done.done():
                done.set_result(None)

        def failed(exc: BaseException) -> None:
            if isinstance(exc, PRODUCER_STATE_ERRORS):
                self._retire(producer, type(exc).__name__)
            if not done.done():
                done.set_exception(PublishError(f"broker rejected a record: {type(exc).__name__}"))

        def on_ack(metadata: object) -> None:
            _call_soon(loop, acked, metadata)

        def on_error(exc: BaseException) -> None:
            _call_soon(loop, failed, exc)

        try:
            for key, value, headers in records:
                future = producer.send(topic, key=key, value=value, headers=headers)
                future.add_callback(on_ack)
                future.add_errback(on_error)
        except KafkaError as exc:
            done.cancel()
            if isinstance(exc, PRODUCER_STATE_ERRORS):
                self._retire(producer, type(exc).__name__)
            raise PublishError(f"could not enqueue records: {type(exc).__name__}") from None
        try:
            await asyncio.wait_for(done, max(0.1, deadline - time.monotonic()))
        except TimeoutError:
            self._retire(producer, "ack_timeout")
            raise PublishError(
                f"broker did not acknowledge {pending} of {len(records)} records "
                f"within {self.timeout_s:g}s"
            ) from None
        if self._producer is producer:
            self._failing = None

    async def ready(self, timeout_s: float = 2.0) -> bool:
        """True if the producer can publish: connected, holding a producer id, its last
        request not failed, and a fresh metadata request answered within `timeout_s`."""
        if not self._open.is_set():
            return True  # held on purpose for a moment; requests wait, they do not fail
        try:
            producer = await self._get_producer()
        except PublishError:
            return False
        loop = asyncio.get_running_loop()
        answered: asyncio.Future[bool] = loop.create_future()

        def settle(ok: bool) -> None:
            if not answered.done():
                answered.set_result(ok)

        update = producer._metadata.request_update()
        update.add_callback(lambda _cluster: _call_soon(loop, settle, True))
        update.add_errback(lambda _exc: _call_soon(loop, settle, False))
        try:
            if not await asyncio.wait_for(answered, timeout_s):
                return False
        except TimeoutError:
            return False
        return self._failing is None or await self._wait_producer_id(producer, timeout_s)

    async def _wait_producer_id(self, producer: Any, timeout_s: float) -> bool:
        """After a retired producer, ready once the new one obtained a producer id."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if has_producer_id(producer):
                return True
            await asyncio.sleep(0.05)
        return False

    @property
    def held(self) -> bool:
        """True between `hold` and `resume`."""
        return not self._open.is_set()

    async def hold(self) -> None:
        """Pause: new requests wait (up to the publish timeout); return once nothing is in
        flight, with the producer released. Used while the dev stack swaps its broker."""
        self._open.clear()
        await self._idle.wait()
        if self._open.is_set():
            return  # resumed meanwhile
        producer, self._producer = self._producer, None
        if producer is not None:
            await asyncio.to_thread(producer.close, 0)
        log.info("publishing_held")

    def resume(self) -> None:
        """Let waiting and new requests through on a fresh producer (also called, without a
        hold, when the dev stack had to restart a broker that lost its state)."""
        if self._producer is not None:
            self._retire(self._producer, "broker_replaced")
        self._retry_at = 0.0
        self._failing = None
        self._open.set()
        log.info("publishing_resumed")

    async def close(self) -> None:
        """Flush buffered records (bounded by the publish timeout) and close the producer."""
        self._closed = True
        self._open.set()
        producer, self._producer = self._producer, None
        if producer is not None:
            await asyncio.to_thread(producer.close, self.timeout_s)
            log.info("kafka_closed")


def _call_soon(loop: asyncio.AbstractEventLoop, func: Any, arg: object) -> None:
    """Hand a producer-thread callback to the event loop (ignored once the loop is closed)."""
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(func, arg)
