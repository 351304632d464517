"""Shared helpers for gateway integration tests: a real uvicorn server and a topic reader."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from ingest.app import create_app
from ingest.settings import IngestSettings
from schemas import topics
from services.embedded import free_port
from tests.support.server import serving


@contextmanager
def running_gateway(settings: IngestSettings) -> Iterator[str]:
    """The ingest gateway on `settings.port` (loopback) in a thread; yields its base URL."""
    with serving(create_app(settings), settings.port, "gateway") as url:
        yield url


@contextmanager
def gateway_on(kafka_bootstrap: str, **settings: Any) -> Iterator[str]:
    """A real gateway on a free port publishing to `kafka_bootstrap`; yields its base URL."""
    config = IngestSettings(
        **{"port": free_port(), "kafka_bootstrap": kafka_bootstrap, "publish_timeout_s": 10},
        **settings,
    )
    with running_gateway(config) as url:
        yield url


@contextmanager
def interactions_consumer(bootstrap: str) -> Iterator[KafkaConsumer]:
    """A group-less consumer for reading back what the gateway published."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=6000,
        consumer_timeout_ms=500,
    )
    try:
        yield consumer
    finally:
        consumer.close()


def partitions(consumer: KafkaConsumer) -> list[TopicPartition]:
    found = consumer.partitions_for_topic(topics.INTERACTIONS)
    assert found, "interactions topic missing"
    return [TopicPartition(topics.INTERACTIONS, p) for p in sorted(found)]


def end_offsets(consumer: KafkaConsumer) -> dict[TopicPartition, int]:
    return dict(consumer.end_offsets(partitions(consumer)))


def read_since(
    consumer: KafkaConsumer,
    start: dict[TopicPartition, int],
    keys: set[bytes],
    count: int,
    timeout: float = 15,
) -> list[Any]:
    """The records keyed by `keys` written after `start`: waits for `count`, then a bit more.

    Filtering by key keeps tests independent of other writers to the shared topic (and of
    Tansu 0.6's high watermark, which after a multi-record batch is that batch's base + 1).
    """
    consumer.assign(list(start))
    for tp, offset in start.items():
        consumer.seek(tp, offset)
    records: list[Any] = []
    deadline = time.monotonic() + timeout
    settle: float | None = None
    while time.monotonic() < deadline and (settle is None or time.monotonic() < settle):
        for batch in consumer.poll(timeout_ms=200).values():
            records.extend(r for r in batch if r.key in keys)
        if settle is None and len(records) >= count:
            settle = time.monotonic() + 0.7
    return records
