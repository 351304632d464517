"""The dev stack's files and process references, on the real file system and /proc."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.devstack.backlog import SpooledRecord, save_spool, spool_files
from services.devstack.runstate import (
    ProcessRef,
    RunState,
    StackAlreadyRunning,
    StackInfo,
    process_start_time,
)

pytestmark = pytest.mark.integration


def test_a_spool_file_is_private_and_an_empty_backlog_writes_none(tmp_path: Path) -> None:
    records = [SpooledRecord(0, n, b"k", b"v%d" % n, ()) for n in range(3)]
    path, count = save_spool(tmp_path / "spool", iter(records))
    assert count == 3 and path is not None
    assert path.stat().st_mode & 0o777 == 0o600
    assert [SpooledRecord.from_line(x) for x in path.read_bytes().splitlines()] == records
    assert save_spool(tmp_path / "spool", iter([])) == (None, 0)
    assert spool_files(tmp_path / "spool") == [path]


def test_the_stack_file_round_trips_and_is_private(tmp_path: Path) -> None:
    me = ProcessRef.of(os.getpid())
    assert me is not None and me.alive()
    info = StackInfo(
        supervisor=me,
        data_dir=str(tmp_path),
        api_url="http://127.0.0.1:8000",
        ingest_url="http://127.0.0.1:8001",
        smtp="127.0.0.1:2525",
        kafka_bootstrap="127.0.0.1:9092",
        database_url="postgresql://postgres:@/threadline?host=/x",
        embedded_broker=True,
        processes={"worker": me},
    )
    assert StackInfo.from_json(info.to_json()) == info
    state = RunState(tmp_path)
    state.acquire()
    try:
        state.publish(info)
        assert state.stack_file.stat().st_mode & 0o777 == 0o600
        assert state.leftover() is None  # its supervisor (this process) is alive
        with pytest.raises(StackAlreadyRunning, match=str(os.getpid())):
            RunState(tmp_path).acquire()
    finally:
        state.release()
    assert not state.stack_file.exists()


def test_a_recycled_process_id_is_not_mistaken_for_ours() -> None:
    me = ProcessRef.of(os.getpid())
    assert me is not None
    assert not ProcessRef(me.pid, me.started + 1).alive()
    assert process_start_time(2**22 + 12345) is None
