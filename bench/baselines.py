"""Raw baselines on the same machine, in the same run: what the parts can do without Threadline.

- kafka-python produce rate (acks=all, idempotent, as the gateway's producer is configured);
- aiokafka consume rate with orjson decode only (what Faust's driver does before our code);
- psycopg primary-key query latency on the loaded store.
The COPY rate into `timeline_events` is measured by the bulk history load (`bench.history`).
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Final

import orjson
import psycopg
from aiokafka import AIOKafkaConsumer
from kafka import KafkaProducer

from bench.journeys import CHAT, CONNECT, RECEIPTS, SEGMENT, SURVEYS, Request, iter_bodies
from bench.stats import percentiles
from ingest.call_centre.connect import map_records
from ingest.chat.mapping import map_chat_events
from ingest.store.receipts import map_receipts
from ingest.surveys.mapping import map_responses
from ingest.web.mapping import map_batch
from schemas import CanonicalEvent
from schemas.events import decode_event

RAW_TOPIC: Final = "bench.raw"
MAPPERS: Final[dict[str, Callable[[Any, datetime, str], list[CanonicalEvent]]]] = {
    SEGMENT: map_batch,
    CHAT: map_chat_events,
    RECEIPTS: map_receipts,
    CONNECT: map_records,
    SURVEYS: map_responses,
}

Record = tuple[bytes, bytes, list[tuple[str, bytes]]]


def canonical_records(requests: Iterable[Request]) -> list[Record]:
    """The Kafka records the gateway would publish for `requests` (through the real mappers)."""
    now = datetime.now(UTC)
    out: list[Record] = []
    for path, body in iter_bodies(list(requests)):
        for e in MAPPERS[path](body, now, "US"):
            out.append((e.kafka_key(), e.to_json(), e.cloudevents_headers()))
    return out


def produce(bootstrap: str, topic: str, records: list[Record]) -> float:
    """Send every record (acks=all, idempotent) and flush; returns records per second."""
    producer = KafkaProducer(
        bootstrap_servers=bootstrap.split(","),
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        batch_size=256 * 1024,
    )
    producer.partitions_for(topic)
    started = time.perf_counter()
    for key, value, headers in records:
        producer.send(topic, key=key, value=value, headers=headers)
    producer.flush()
    elapsed = time.perf_counter() - started
    producer.close()
    return len(records) / elapsed


async def consume(bootstrap: str, topic: str, expected: int, timeout_s: float = 300) -> float:
    """Read `expected` records from the start with aiokafka, orjson-decoding each value."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_bytes=32 * 1024 * 1024,
    )
    await consumer.start()
    seen, started = 0, 0.0
    try:
        deadline = time.monotonic() + timeout_s
        while seen < expected and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500, max_records=5000)
            if batches and not started:
                started = time.perf_counter()
            for messages in batches.values():
                for m in messages:
                    orjson.loads(m.value)
                seen += len(messages)
    finally:
        await consumer.stop()
    return seen / (time.perf_counter() - started) if started else 0.0


def pk_query(url: str, customer_ids: list[str], queries: int, seed: int) -> dict[str, float]:
    """Latency of a prepared primary-key lookup on `customers` (sequential, one connection)."""
    rng = random.Random(seed)
    times: list[float] = []
    with psycopg.connect(url, autocommit=True) as conn:
        stmt = "SELECT customer_id, traits, cx FROM customers WHERE customer_id = %s"
        for _ in range(50):
            conn.execute(stmt, (rng.choice(customer_ids),), prepare=True).fetchone()
        started = time.perf_counter()
        for _ in range(queries):
            t0 = time.perf_counter()
            conn.execute(stmt, (rng.choice(customer_ids),), prepare=True).fetchone()
            times.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - started
    result = {f"{k}_ms": v for k, v in percentiles([t * 1000 for t in times]).items()}
    result["queries_per_s"] = queries / elapsed
    return result


def run_consume(bootstrap: str, topic: str, expected: int) -> float:
    """`consume` from synchronous code."""
    return asyncio.run(consume(bootstrap, topic, expected))


def cpu_probe(records: list[Record], rounds: int = 5) -> float:
    """Microseconds to decode and validate one canonical event (best of `rounds`): how fast
    this machine's CPU is right now, so runs taken while the host was slower can be told."""
    values = [value for _, value, _ in records]
    best = math.inf
    for _ in range(rounds):
        started = time.perf_counter()
        for value in values:
            decode_event(value)
        best = min(best, time.perf_counter() - started)
    return 1e6 * best / max(len(values), 1)
