"""Two Faust worker processes on a 4-partition topic stitch exactly as one worker does."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from profile_store.storage.engines import make_async_engine, make_sync_engine
from profile_store.storage.tables import metadata
from services.embedded import EmbeddedBroker, free_port
from services.kafka_admin import ensure_topics
from tests.support.identity_db import check_consistency, stored
from tests.support.identity_graph import expected, journeys
from tests.support.worker import Workers, counts, produce, wait_for

pytestmark = pytest.mark.integration

TAG = "tw-"


@pytest.fixture(scope="module")
def own_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A broker of this module's own: the workers read only these events from offset 0."""
    broker = EmbeddedBroker(port=free_port(), log_path=tmp_path_factory.mktemp("b") / "t.log")
    bootstrap = broker.start()
    ensure_topics(bootstrap, partitions=4)
    yield bootstrap
    broker.stop()


def snapshot(url: str) -> tuple[set[frozenset[object]], set[frozenset[str]]]:
    async def read() -> tuple[set[frozenset[object]], set[frozenset[str]]]:
        engine = make_async_engine(url, pool_size=1)
        try:
            await check_consistency(engine)
            partition, groups = await stored(engine)
            return set(partition), groups
        finally:
            await engine.dispose()

    return asyncio.run(read())


def truncate(url: str) -> None:
    engine = make_sync_engine(url)
    with engine.begin() as conn:
        names = ", ".join(t.name for t in metadata.sorted_tables)
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


def partitions_written(log: Path) -> set[int]:
    seen: set[int] = set()
    for line in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("event") == "batch_done" and entry.get("written"):
            seen.update(entry.get("partitions", []))
    return seen


def test_two_workers_on_four_partitions_agree_with_one(
    own_bootstrap: str,
    clean_db: str,
    tmp_path: Path,
    workers: Workers,
) -> None:
    events = journeys(seed=7, people=60, tag=TAG)
    # Records are keyed by each event's strongest identifier, so one person's events are
    # spread over partitions (a device id before sign-in, the user id after): the workers
    # race to stitch the same people.
    produce(own_bootstrap, [(e.kafka_key(), e.to_json()) for e in events])
    n = len(events)
    opts = {
        "THREADLINE_KAFKA_BOOTSTRAP": own_bootstrap,
        "THREADLINE_LOG_LEVEL": "debug",
        "THREADLINE_BATCH_SIZE": "20",
    }

    def settle(what: str) -> None:
        wait_for(lambda: counts(clean_db, TAG)[0] == n, timeout=120, what=what)

    one = workers.start("tw-single", **opts)
    settle(f"{n} rows from one worker")
    one.terminate()
    one.wait(30)
    single = snapshot(clean_db)

    truncate(clean_db)
    pair = [workers.start("tw-pair", **opts) for _ in range(2)]
    settle(f"{n} rows from two workers")
    for proc in pair:
        proc.terminate()
        proc.wait(30)
    both = snapshot(clean_db)

    assert counts(clean_db, TAG) == (n, 0)
    assert both == single
    want = expected(events)
    assert single == (want.partition(), want.event_groups())
    logs = sorted(tmp_path.glob("worker-*.log"))
    shares = [partitions_written(log) for log in logs[1:]]
    assert all(shares), f"each of the two workers must have written a share: {shares}"
