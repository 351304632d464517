"""The Faust app: one agent takes batches from `threadline.interactions` and hands them on.

The agent stays thin: it converts Faust events to `Record`s and awaits `BatchProcessor`,
which never raises. On shutdown the in-flight batch is drained before Faust acks and
commits it; if it cannot be drained in time the process exits without committing, so the
batch is redelivered rather than lost.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import faust
import mode.loop
import structlog

from profile_store.deadletters import record_dead_letters
from profile_store.privacy.tombstones import tombstoned_event_ids
from profile_store.storage.engines import make_async_engine
from profile_store.write.screen_pops import record_screen_pops
from profile_store.write.writer import TimelineWriter
from runtime.heap import freeze_heap
from schemas import topics
from schemas.deadletter import DeadLetter
from services.deadletter_intake import store_foreign_letters
from services.kafka_auth import faust_credentials
from services.kafka_consumer import set_fetch_max_wait
from services.pipeline import BatchProcessor, Record
from services.probes import consuming_flag, start_worker_probes
from services.settings import WorkerSettings

log = structlog.get_logger("threadline.worker")
EXIT_UNDRAINED = 70


def create_app(settings: WorkerSettings) -> faust.App:
    """Build the Faust app and its stitching agent from settings."""
    app = faust.App(
        settings.consumer_group,
        broker=[f"kafka://{h.strip()}" for h in settings.kafka_bootstrap.split(",")],
        broker_credentials=faust_credentials(settings),
        store="memory://",
        web_enabled=False,
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        topic_allow_declare=False,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.heartbeat_interval_s,
        broker_rebalance_timeout=settings.rebalance_timeout_s,
        broker_commit_every=settings.batch_size,
        broker_commit_interval=settings.commit_interval_s,
        producer_acks=-1,
        stream_buffer_maxsize=max(4096, settings.batch_size * 4),
    )
    set_fetch_max_wait(app, settings.fetch_max_wait_ms)
    interactions = app.topic(topics.INTERACTIONS, key_type=bytes, value_type=bytes)
    deadletter = app.topic(topics.DEADLETTER, key_type=bytes, value_type=bytes)
    engine = make_async_engine(settings.dsn, pool_size=settings.db_pool_size)

    async def publish_dead(letters: Sequence[DeadLetter]) -> None:
        for letter in letters:
            await deadletter.send(key=letter.key, value=letter.to_json())

    async def store_dead(letters: Sequence[DeadLetter]) -> None:
        await record_dead_letters(engine, letters)

    stitching = settings.stitching
    erased = partial(
        tombstoned_event_ids, salt=settings.salt_bytes(), policy=settings.erasure_policy
    )
    writer = TimelineWriter(
        engine, stitching.identity, trait_rules=stitching.traits, exclude=erased
    )
    processor = BatchProcessor(
        writer, store_dead, publish_dead, record_pops=partial(record_screen_pops, engine)
    )

    @app.agent(interactions, name="stitch")
    async def stitch(stream: Any) -> None:
        async for events in stream.take_events(settings.batch_size, within=settings.batch_within_s):
            records = [_record(e.message) for e in events]
            task = asyncio.ensure_future(processor.process(records))
            try:
                outcome = await asyncio.shield(task)
            except asyncio.CancelledError:
                await _drain(task, settings.drain_timeout_s)
                raise
            log.debug(
                "batch_done",
                size=len(records),
                written=outcome.written,
                partitions=sorted({r.partition for r in records if r.partition is not None}),
            )

    @app.agent(deadletter, name="deadletter-intake")
    async def intake(stream: Any) -> None:
        async for values in stream.take(settings.batch_size, within=settings.batch_within_s):
            stored = await store_foreign_letters(values, store_dead)
            if stored:
                log.info("foreign_dead_letters_stored", count=stored)

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]
    async def _assigned(app: Any, assigned: Any, **_: Any) -> None:
        log.info("partitions_assigned", partitions=_names(assigned))

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def _revoked(app: Any, revoked: Any, **_: Any) -> None:
        log.info("partitions_revoked", partitions=_names(revoked))

    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def _close_db(app: Any, **_: Any) -> None:  # pragma: no cover - shutdown path
        log.info("worker_stopping")
        await engine.dispose()

    return app


def _names(partitions: Any) -> list[str]:
    return sorted(f"{tp.topic}/{tp.partition}" for tp in partitions)


def _record(message: Any) -> Record:
    return Record(
        value=message.value if message.value is not None else b"",
        key=message.key,
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
    )


async def _drain(task: asyncio.Future[Any], limit_s: float) -> None:
    """Let the in-flight batch finish; if it cannot, exit before Faust commits its offsets."""
    try:
        await asyncio.wait_for(asyncio.shield(task), limit_s)
        log.info("drained_in_flight_batch")
    except BaseException:
        log.critical("in_flight_batch_not_drained_exiting_without_commit")
        os._exit(EXIT_UNDRAINED)


def _wait_for_start_gate(gate: Path | None) -> None:
    """`threadline dev` starts a replacement worker ahead of time (its imports and setup take
    seconds) and lets it connect once the new broker is up, by creating `gate`."""
    if gate is None:
        return
    log.info("worker_standing_by")
    while not gate.exists():
        time.sleep(0.02)


def main(log_level: str = "INFO") -> None:
    """Run the worker until SIGTERM/SIGINT (`threadline worker`)."""
    settings = WorkerSettings()
    # Before Faust creates its loops: uvloop's costs less CPU per batch than asyncio's.
    mode.loop.use("uvloop")
    app = create_app(settings)
    start_worker_probes(settings, consuming_flag(app))
    # Keep our JSON logging: Faust would otherwise install its own text formatter.
    worker = faust.Worker(
        app, loglevel=log_level, quiet=True, redirect_stdouts=False, override_logging=False
    )
    worker.spinner = None  # Faust's terminal spinner writes escape codes into redirected logs
    _wait_for_start_gate(settings.dev_start_gate)
    log.info("worker_starting", group=settings.consumer_group, batch_size=settings.batch_size)
    freeze_heap()
    try:
        worker.execute_from_commandline()
    finally:
        log.info("worker_stopped")
