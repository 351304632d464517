"""Worker processes, producers and database counts for integration and fault tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from kafka import KafkaProducer

from profile_store.storage.engines import make_sync_engine
from profile_store.storage.tables import dead_letters, timeline_events
from schemas import CanonicalEvent, topics


def worker_env(kafka_bootstrap: str, database_url: str, group: str, **extra: str) -> dict[str, str]:
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
        "THREADLINE_ERASURE_SALT": "worker-test-erasure-salt",
        **extra,
    }


class Workers:
    """Starts `threadline worker` processes; stops whatever is still running at the end."""

    def __init__(self, kafka_bootstrap: str, database_url: str, logs: Path) -> None:
        self.kafka_bootstrap, self.database_url, self.logs = kafka_bootstrap, database_url, logs
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, group: str, **extra: str) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"worker-{len(self.procs)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "worker"],
            env=worker_env(self.kafka_bootstrap, self.database_url, group, **extra),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        return proc

    def log_text(self, index: int) -> str:
        """What the `index`-th started worker wrote to stdout/stderr so far."""
        return (self.logs / f"worker-{index}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)


def produce(bootstrap: str, values: list[tuple[bytes, bytes]]) -> int:
    """Send every record with acks=all; returns how many the broker acknowledged."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    futures = [producer.send(topics.INTERACTIONS, key=key, value=value) for key, value in values]
    producer.flush(60)
    acked = sum(1 for f in futures if f.succeeded())
    producer.close()
    return acked


def wait_for(predicate: Callable[[], bool], timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def counts(database_url: str, prefix: str) -> tuple[int, int]:
    """(timeline rows, dead letters) of this test's records, recognised by `prefix`."""
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


class Flow:
    """Produces events in a background thread, in chunks, so faults land while events flow."""

    def __init__(
        self, bootstrap: str, events: list[CanonicalEvent], chunk: int = 200, pause_s: float = 0.05
    ) -> None:
        self.bootstrap, self.events, self.chunk, self.pause_s = bootstrap, events, chunk, pause_s
        self.accepted: set[str] = set()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Flow:
        self._thread.start()
        return self

    def join(self, timeout: float = 120) -> set[str]:
        """Wait for the last acknowledgement; the event ids the broker accepted."""
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the producer did not finish"
        return self.accepted

    def _run(self) -> None:
        producer = KafkaProducer(
            bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=True
        )
        futures = []
        for start in range(0, len(self.events), self.chunk):
            for e in self.events[start : start + self.chunk]:
                futures.append(
                    (
                        e.event_id,
                        producer.send(topics.INTERACTIONS, key=e.kafka_key(), value=e.to_json()),
                    )
                )
            producer.flush(60)
            time.sleep(self.pause_s)
        producer.flush(60)
        self.accepted = {event_id for event_id, f in futures if f.succeeded()}
        producer.close()
