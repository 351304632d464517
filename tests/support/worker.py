"""Running the Faust worker as a real process in tests, and reading what it wrote."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa
from kafka import KafkaProducer

from profile_store.db import make_sync_engine
from profile_store.models import dead_letters, timeline_events
from schemas import topics


class StartWorker(Protocol):
    """Starts one worker process in a consumer group."""

    def __call__(
        self, group: str, bootstrap: str | None = None, **overrides: str
    ) -> subprocess.Popen[bytes]: ...


def worker_env(kafka_bootstrap: str, database_url: str, group: str) -> dict[str, str]:
    return {
        **os.environ,
        "THREADLINE_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "THREADLINE_DATABASE_URL": database_url,
        "THREADLINE_CONSUMER_GROUP": group,
        "THREADLINE_PARTITIONS": "4",
        "THREADLINE_SESSION_TIMEOUT_S": "6",
        "THREADLINE_HEARTBEAT_INTERVAL_S": "1",
        "THREADLINE_REBALANCE_TIMEOUT_S": "6",
        "THREADLINE_METRICS_PORT": "0",
        "THREADLINE_BATCH_SIZE": "200",
        "THREADLINE_BATCH_WITHIN_S": "0.2",
    }


@contextmanager
def worker_starter(kafka_bootstrap: str, database_url: str, log_dir: Path) -> Iterator[StartWorker]:
    """Start `threadline worker` processes (logs in `log_dir`); SIGTERM them at the end."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(
        group: str, bootstrap: str | None = None, **overrides: str
    ) -> subprocess.Popen[bytes]:
        log = open(log_dir / f"worker-{len(procs)}.log", "wb")  # noqa: SIM115
        env = worker_env(bootstrap or kafka_bootstrap, database_url, group)
        env.update({f"THREADLINE_{k.upper()}": v for k, v in overrides.items()})
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "worker"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def produce(bootstrap: str, values: list[tuple[bytes, bytes]]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    for key, value in values:
        producer.send(topics.INTERACTIONS, key=key, value=value)
    producer.flush(30)
    producer.close()


def wait_for(predicate: Callable[[], bool], timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def counts(database_url: str, prefix: str) -> tuple[int, int]:
    engine = make_sync_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(sa.func.count())
            .select_from(timeline_events)
            .where(timeline_events.c.event_id.like(f"{prefix}%"))
        ).scalar_one()
        # The topic is shared by the tests of this session: count this test's records only.
        mine = sa.func.position(sa.literal(prefix.encode()).op("IN")(dead_letters.c.original)) > 0
        dead = conn.execute(
            sa.select(sa.func.count()).select_from(dead_letters).where(mine)
        ).scalar_one()
    engine.dispose()
    return rows, dead
