"""The Faust worker as a real process against the embedded broker and real PostgreSQL."""

from __future__ import annotations

import signal
import time

import pytest
import sqlalchemy as sa

from profile_store.storage.engines import make_sync_engine
from profile_store.storage.tables import dead_letters
from tests.support.events import event
from tests.support.reconcile import reconcile, report
from tests.support.refusal import REFUSED, refusing_marked_rows
from tests.support.worker import Workers, counts, produce, wait_for

pytestmark = pytest.mark.integration


def test_worker_writes_timelines_and_dead_letters_poison(
    kafka_bootstrap: str, clean_db: str, workers: Workers
) -> None:
    good = [event(f"w1-{i}", ("user_id", f"u{i % 7}"), minutes=i) for i in range(300)]
    nul = event("w1-nul", ("user_id", "u1"), attributes=REFUSED)  # the database refuses it
    values = [(e.kafka_key(), e.to_json()) for e in good]
    values += [
        (b"k", b"\xff not json w1-"),
        (b"k", b'{"event_id": "w1-x"}'),
        (nul.kafka_key(), nul.to_json()),
    ]
    values += [(e.kafka_key(), e.to_json()) for e in good[:50]]  # redelivered
    produce(kafka_bootstrap, values)
    with refusing_marked_rows(clean_db):
        workers.start("test-worker-1")
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
    kafka_bootstrap: str, clean_db: str, workers: Workers
) -> None:
    total = 20000
    events = [event(f"w2-{i}", ("anonymous_id", f"w2-d{i % 97}"), minutes=i) for i in range(total)]
    accepted = produce(kafka_bootstrap, [(e.kafka_key(), e.to_json()) for e in events])
    first = workers.start("test-worker-2")
    wait_for(lambda: counts(clean_db, "w2-")[0] > 0, what="the first batch")
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    partial = counts(clean_db, "w2-")[0]
    workers.start("test-worker-2")
    wait_for(
        lambda: counts(clean_db, "w2-")[0] == total, timeout=120, what=f"{total} rows after restart"
    )
    time.sleep(1)
    figures = reconcile(clean_db, "kill -9 worker", "w2-", total, {e.event_id for e in events})
    report(figures)
    assert accepted == total
    assert (figures.in_timelines, figures.dead_lettered) == (total, 0)
    assert (figures.duplicated, figures.lost) == (0, 0)
    assert 0 < partial < total, "the kill must land mid-stream for this test to mean anything"
