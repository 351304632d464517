"""Publishes canonical events to Kafka and returns only once the broker acknowledged them."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, Final, Protocol

import structlog
from kafka import KafkaProducer
from kafka.errors import KafkaError
from kafka.partitioner.default import DefaultPartitioner, murmur2

from ingest import IngestError
from ingest.settings import IngestSettings
from schemas import CanonicalEvent, topics
from schemas.deadletter import DeadLetter

log = structlog.get_logger()

#: After a failed connection attempt, fail fast for this long instead of retrying per request.
RECONNECT_BACKOFF_S: Final = 1.0


@lru_cache(maxsize=65_536)
def _key_hash(key: bytes) -> int:
    return int(murmur2(key)) & 0x7FFFFFFF


class KeyHashCachingPartitioner(DefaultPartitioner):
    """kafka-python's default (Java-compatible murmur2) partitioner, remembering key hashes:
    murmur2 is pure Python there, and one person's events share a key."""

    def partition(
        self, topic: str, key: Any, serialized_key: Any, value: Any, serialized: Any, cluster: Any
    ) -> Any:
        """The partition for a record, as `DefaultPartitioner` picks it."""
        if serialized_key is None:
            return super().partition(topic, key, serialized_key, value, serialized, cluster)
        partitions = cluster.partitions_for_topic(topic)
        if partitions is None:
            raise ValueError(f"Topic {topic} not found in ClusterMetadata")
        ordered = sorted(partitions)
        return ordered[_key_hash(bytes(serialized_key)) % len(ordered)]


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

    async def _send(
        self, topic: str, records: Sequence[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]
    ) -> None:
        events = records
        if not events:
            return
        producer = await self._get_producer()
        if producer._metadata.partitions_for_topic(topic) is None:
            await asyncio.to_thread(producer.partitions_for, topic)
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        pending = len(events)

        def acked(_metadata: object) -> None:
            nonlocal pending
            pending -= 1
            if pending == 0 and not done.done():
                done.set_result(None)

        def failed(exc: BaseException) -> None:
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
            raise PublishError(f"could not enqueue records: {type(exc).__name__}") from None
        try:
            await asyncio.wait_for(done, self.timeout_s)
        except TimeoutError:
            raise PublishError(
                f"broker did not acknowledge {pending} of {len(events)} events "
                f"within {self.timeout_s:g}s"
            ) from None

    async def ready(self, timeout_s: float = 2.0) -> bool:
        """True if a fresh metadata request to the broker succeeds within `timeout_s`."""
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
            return await asyncio.wait_for(answered, timeout_s)
        except TimeoutError:
            return False

    async def close(self) -> None:
        """Flush buffered records (bounded by the publish timeout) and close the producer."""
        self._closed = True
        producer, self._producer = self._producer, None
        if producer is not None:
            await asyncio.to_thread(producer.close, self.timeout_s)
            log.info("kafka_closed")


def _call_soon(loop: asyncio.AbstractEventLoop, func: Any, arg: object) -> None:
    """Hand a producer-thread callback to the event loop (ignored once the loop is closed)."""
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(func, arg)
