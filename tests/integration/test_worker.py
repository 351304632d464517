"""The Faust worker as a real process against the embedded broker and real PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from kafka import KafkaProducer

from profile_store.db import make_sync_engine
from profile_store.models import dead_letters, timeline_events
from schemas import topics
from tests.support.events import event

pytestmark = pytest.mark.integration


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


@pytest.fixture
def start_worker(
    kafka_bootstrap: str, clean_db: str, tmp_path: Path
) -> Iterator[Callable[[str], subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(group: str) -> subprocess.Popen[bytes]:
        log = open(tmp_path / f"worker-{len(procs)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "worker"],
            env=worker_env(kafka_bootstrap, clean_db, group),
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


def test_worker_writes_timelines_and_dead_letters_poison(
    kafka_bootstrap: str, clean_db: str, start_worker: Callable[[str], subprocess.Popen[bytes]]
) -> None:
    good = [event(f"w1-{i}", ("user_id", f"u{i % 7}"), minutes=i) for i in range(300)]
    nul = event("w1-nul", ("user_id", "u1"), attributes={"note": "bad\u0000byte"})
    values = [(e.kafka_key(), e.to_json()) for e in good]
    values += [
        (b"k", b"\xff not json w1-"),
        (b"k", b'{"event_id": "w1-x"}'),
        (nul.kafka_key(), nul.to_json()),
    ]
    values += [(e.kafka_key(), e.to_json()) for e in good[:50]]  # redelivered
    produce(kafka_bootstrap, values)
    start_worker("test-worker-1")
    wait_for(lambda: counts(clean_db, "w1-") == (300, 3), what="300 rows and 3 dead letters")
    engine = make_sync_engine(clean_db)
    with engine.connect() as conn:
        letters = conn.execute(
            sa.select(dead_letters.c.component, dead_letters.c.original).where(
                sa.func.position(sa.literal(b"w1-").op("IN")(dead_letters.c.original)) > 0
            )
        ).all()
    engine.dispose()
    assert {c for c, _ in letters} == {"worker.decode", "worker.write"}
    assert b"\xff not json w1-" in {bytes(o) for _, o in letters}
    assert nul.to_json() in {bytes(o) for _, o in letters}


def test_worker_killed_mid_stream_loses_and_duplicates_nothing(
    kafka_bootstrap: str, clean_db: str, start_worker: Callable[[str], subprocess.Popen[bytes]]
) -> None:
    total = 20000
    produce(
        kafka_bootstrap,
        [
            (e.kafka_key(), e.to_json())
            for e in (
                event(f"w2-{i}", ("anonymous_id", f"d{i % 97}"), minutes=i) for i in range(total)
            )
        ],
    )
    first = start_worker("test-worker-2")
    wait_for(lambda: counts(clean_db, "w2-")[0] > 0, what="the first batch")
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    partial = counts(clean_db, "w2-")[0]
    start_worker("test-worker-2")
    wait_for(
        lambda: counts(clean_db, "w2-")[0] == total, timeout=120, what=f"{total} rows after restart"
    )
    time.sleep(1)
    assert counts(clean_db, "w2-") == (total, 0)
    assert 0 < partial < total, "the kill must land mid-stream for this test to mean anything"
