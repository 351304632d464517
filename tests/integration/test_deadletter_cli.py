"""`threadline deadletter list|show|replay` against the real broker, PostgreSQL and worker."""

from __future__ import annotations

import asyncio

import orjson
import pytest
import sqlalchemy as sa

from profile_store.deadletters import record_dead_letters
from profile_store.storage.engines import make_async_engine, make_sync_engine
from profile_store.storage.tables import dead_letters, timeline_events
from schemas.deadletter import Component, DeadLetter, Failure, FailureType
from services.cli import main
from tests.support.events import T0, event
from tests.support.worker import Workers, wait_for

pytestmark = pytest.mark.integration

GOOD = event("dlc-1", ("email", "dlc@shop.io"))
BAD = b"\xff not json dlc-x"


def seed(url: str) -> dict[bytes, int]:
    letters = [
        DeadLetter.of(
            Component.WORKER_WRITE,
            Failure(type=FailureType.DATABASE_REFUSED, message="OperationalError: since fixed"),
            GOOD.to_json(),
            T0,
            key=GOOD.kafka_key(),
            event_id=GOOD.event_id,
        ),
        DeadLetter.of(
            Component.WORKER_DECODE,
            Failure(type=FailureType.INVALID_EVENT, message="not JSON"),
            BAD,
            T0,
            key=b"k",
        ),
    ]

    async def store() -> None:
        engine = make_async_engine(url)
        await record_dead_letters(engine, letters)
        await engine.dispose()

    asyncio.run(store())
    return dict(state(url, dead_letters.c.original, dead_letters.c.id))


def state(url: str, *columns: sa.ColumnElement[object]) -> list[tuple[object, ...]]:
    engine = make_sync_engine(url)
    with engine.connect() as conn:
        rows = [
            tuple(bytes(v) if isinstance(v, memoryview) else v for v in r)
            for r in conn.execute(sa.select(*columns).order_by(*columns[:1]))
        ]
    engine.dispose()
    return rows


def rows(url: str) -> int:
    engine = make_sync_engine(url)
    with engine.connect() as conn:
        n = conn.execute(
            sa.select(sa.func.count())
            .select_from(timeline_events)
            .where(timeline_events.c.event_id == GOOD.event_id)
        ).scalar_one()
    engine.dispose()
    return int(n)


def test_list_show_dry_run_and_replay(
    kafka_bootstrap: str,
    clean_db: str,
    workers: Workers,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("THREADLINE_DATABASE_URL", clean_db)
    monkeypatch.setenv("THREADLINE_KAFKA_BOOTSTRAP", kafka_bootstrap)
    ids = seed(clean_db)
    good_id, bad_id = ids[GOOD.to_json()], ids[BAD]

    assert main(["deadletter", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[:2] for line in listed] == [
        [str(bad_id), "worker.decode"],
        [str(good_id), "worker.write"],
    ]
    assert main(["deadletter", "show", str(good_id)]) == 0
    shown = orjson.loads(capsys.readouterr().out)
    assert shown["original_text"] == GOOD.to_json().decode() and shown["attempts"] == 1
    assert main(["deadletter", "show", "999999"]) == 1

    assert main(["deadletter", "replay", "--pending", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"would replay {good_id}" in out and f"skip {bad_id}" in out
    assert "1 to replay (dry run: nothing sent)" in out
    assert state(clean_db, dead_letters.c.id, dead_letters.c.replayed_at) == [
        (good_id, None),
        (bad_id, None),
    ]

    workers.start("test-deadletter-cli")
    assert main(["deadletter", "replay", "--pending"]) == 0
    assert "1 replayed to threadline.interactions" in capsys.readouterr().out
    wait_for(lambda: rows(clean_db) == 1, what="the replayed event in its timeline")
    replayed = dict(state(clean_db, dead_letters.c.id, dead_letters.c.replayed_at))
    assert replayed[good_id] is not None and replayed[bad_id] is None
    assert main(["deadletter", "list"]) == 0
    # The worker reads the session's shared topics from the start, so it also dead-letters
    # other tests' poison records and stores the gateway's refused Firehose records: this
    # test's letters are those holding its two records (a replay that failed again included).
    ours = {
        str(i)
        for i, original in state(clean_db, dead_letters.c.id, dead_letters.c.original)
        if original in (GOOD.to_json(), BAD)
    }
    pending = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert [p[0] for p in pending if p[0] in ours] == [str(bad_id)]

    # A record that still fails is dead-lettered again, which makes it pending again.
    assert main(["deadletter", "replay", "--force", str(bad_id)]) == 0
    wait_for(
        lambda: dict(state(clean_db, dead_letters.c.id, dead_letters.c.attempts))[bad_id] == 2,
        what="the still-bad record dead-lettered again",
    )
    assert dict(state(clean_db, dead_letters.c.id, dead_letters.c.replayed_at))[bad_id] is None
