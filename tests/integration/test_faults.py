"""Fault tests against the real stack: each ends by reconciling every accepted event.

Every accepted event must be in exactly one timeline or in the dead-letter store; the
figures (sent, accepted, in timelines, dead-lettered, duplicated, lost) are printed and
appended to build/test-artifacts/reconciliation.log. The slow ones are marked `faults`
(`make faults`); the slow-database test runs in `make test`.
"""

from __future__ import annotations

import signal
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from profile_store.storage import migrate
from profile_store.storage.engines import make_sync_engine
from schemas import CanonicalEvent
from services.embedded import EmbeddedPostgres, create_database, with_database
from tests.support.events import event
from tests.support.reconcile import Figures, reconcile, report
from tests.support.refusal import REFUSED, refusing_marked_rows
from tests.support.worker import Flow, Workers, counts, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


#: Every POISON_EVERY-th event is refused by the database (a test rule): it must be
#: dead-lettered.
POISON_EVERY = 997


def stream(prefix: str, total: int) -> list[CanonicalEvent]:
    """Events of ~total/5 people, some carrying two identifiers so merges happen too."""
    out = []
    for i in range(total):
        person = f"{prefix}p{i % (total // 5)}"
        idents = [("anonymous_id", f"{person}-dev{i % 2}")]
        if i % 7 == 0:
            idents.append(("user_id", person))
        poison = REFUSED if i % POISON_EVERY == POISON_EVERY - 1 else None
        out.append(event(f"{prefix}{i}", *idents, minutes=i, attributes=poison))
    return out


def settle(database_url: str, prefix: str, total: int, timeout: float = 150) -> None:
    wait_for(
        lambda: sum(counts(database_url, prefix)) >= total,
        timeout=timeout,
        what=f"{total} events in timelines or dead letters",
    )


def check(figures: Figures, total: int) -> None:
    report(figures)
    assert figures.accepted == total, "the broker refused events: the test did not run"
    assert figures.dead_lettered == total // POISON_EVERY
    assert figures.in_timelines + figures.dead_lettered == total
    assert (figures.duplicated, figures.lost) == (0, 0)


@pytest.fixture
def refusing_db(clean_db: str) -> Iterator[str]:
    """The emptied session database, refusing the poison events' rows while the test runs."""
    with refusing_marked_rows(clean_db):
        yield clean_db


def test_slow_database_holds_the_writer_without_loss(
    kafka_bootstrap: str, refusing_db: str, workers: Workers
) -> None:
    """Another session blocks every timeline insert for longer than the consumer session
    timeout (a table lock: reads go on, writes wait)."""
    clean_db = refusing_db
    prefix, total = f"slow-{uuid.uuid4().hex[:6]}-", 3000
    events = stream(prefix, total)
    workers.start(f"faults-slow-{prefix}")
    flow = Flow(kafka_bootstrap, events[: total // 3], pause_s=0.02).start()
    wait_for(lambda: counts(clean_db, prefix)[0] > 0, what="the first rows")
    engine = make_sync_engine(clean_db)
    with engine.begin() as blocker:
        blocker.execute(sa.text("LOCK TABLE timeline_events IN EXCLUSIVE MODE"))
        held_at = counts(clean_db, prefix)[0]
        rest = Flow(kafka_bootstrap, events[total // 3 :], pause_s=0.02).start()
        threading.Event().wait(8.0)  # longer than the 6 s session timeout
        during = counts(clean_db, prefix)[0]
    engine.dispose()
    accepted = flow.join() | rest.join()
    settle(clean_db, prefix, total)
    check(reconcile(clean_db, "slow database", prefix, total, accepted), total)
    assert during == held_at, "the held lock must have stopped the writer"
    assert held_at < total


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[tuple[EmbeddedPostgres, str]]:
    """A PostgreSQL of this test's own, so restarting it disturbs no other test."""
    server = EmbeddedPostgres(tmp_path / "pg")
    admin = with_database(server.start(database="postgres"), "postgres")
    create_database(admin, "faults")
    url = with_database(admin, "faults")
    migrate.upgrade(url)
    with refusing_marked_rows(url):
        yield server, url
    server.stop()


@pytest.mark.faults
def test_postgres_restart_while_events_flow(
    kafka_bootstrap: str, own_postgres: tuple[EmbeddedPostgres, str], tmp_path: Path
) -> None:
    server, url = own_postgres
    prefix, total = f"pgr-{uuid.uuid4().hex[:6]}-", 6000
    pool = Workers(kafka_bootstrap, url, tmp_path)
    try:
        pool.start(f"faults-pg-{prefix}")
        flow = Flow(kafka_bootstrap, stream(prefix, total), pause_s=0.2).start()
        wait_for(lambda: counts(url, prefix)[0] > 0, what="the first rows")
        server.restart(down_s=4.0, mode="immediate")  # a crash, then recovery
        after_restart = counts(url, prefix)[0]
        accepted = flow.join()
        settle(url, prefix, total)
        check(reconcile(url, "postgres restart", prefix, total, accepted), total)
        assert after_restart < total, "the restart must land mid-stream"
        # The worker met the outage on a write and retried it (transient, not dead-lettered).
        assert '"transient_failure"' in pool.log_text(0).replace("'", '"')
    finally:
        pool.stop_all()


@pytest.mark.faults
def test_consumer_group_rebalance_with_two_workers(
    kafka_bootstrap: str, refusing_db: str, workers: Workers
) -> None:
    clean_db = refusing_db
    prefix, total = f"reb-{uuid.uuid4().hex[:6]}-", 8000
    group = f"faults-rebalance-{prefix}"
    first = workers.start(group)
    flow = Flow(kafka_bootstrap, stream(prefix, total), pause_s=0.2).start()
    wait_for(lambda: counts(clean_db, prefix)[0] > 0, what="the first rows")
    workers.start(group)  # joins mid-stream: partitions are rebalanced
    mid = counts(clean_db, prefix)[0]
    wait_for(lambda: counts(clean_db, prefix)[0] > mid, what="progress after the join")
    first.send_signal(signal.SIGTERM)  # leaves: rebalanced again onto the second
    first.wait(60)
    stopped_at = counts(clean_db, prefix)[0]
    accepted = flow.join()
    settle(clean_db, prefix, total)
    check(reconcile(clean_db, "consumer group rebalance", prefix, total, accepted), total)
    assert first.returncode == 0 and stopped_at < total, "the first worker must leave mid-stream"
