"""The embedded default keeps its promise: a 2xx is never lost, Ctrl-C ends it in seconds.

Each test runs `threadline dev` as a user does (its own process group, free loopback ports,
embedded broker and PostgreSQL), acknowledges a few thousand events, stops or breaks the
stack, and then counts the events in the timelines: every acknowledged one, exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from tests.support.devstack import DevStackRun, dev_stack_run, send_track_batches, wait_until

pytestmark = pytest.mark.e2e

#: DESIGN.md: Ctrl-C ends everything within 10 s and leaves nothing running.
STOP_LIMIT_S = 10.0
BURST = 3000


def _all_written(run: DevStackRun, tag: str, count: int) -> bool:
    return _count_prefix(run, f"segment:{tag}-") == count


def test_ctrl_c_right_after_a_burst_and_a_second_signal_lose_nothing(tmp_path: Path) -> None:
    with dev_stack_run(tmp_path) as run:
        run.start()
        assert send_track_batches(run.ingest, "burst", BURST) == BURST
        # Ctrl-C at once, then an orchestrating script's SIGTERM and another Ctrl-C.
        code = run.stop((0.3, signal.SIGTERM), (0.3, signal.SIGINT))
        output = run.log_since()
        print(f"stop after a burst of {BURST}: {run.stop_seconds:.1f}s")
        assert code == 0, output[-3000:]
        assert run.stop_seconds < STOP_LIMIT_S
        assert "already stopping" in output
        assert run.leftovers() == []

        run.start()
        wait_until(lambda: _all_written(run, "burst", BURST), 120, run)
        code = run.stop()
        assert code == 0 and run.stop_seconds < STOP_LIMIT_S and run.leftovers() == []


def test_a_worker_killed_mid_stream_is_restarted_and_loses_nothing(tmp_path: Path) -> None:
    with dev_stack_run(tmp_path) as run:
        run.start()
        worker = run.refs["worker"]
        killed = threading.Event()

        def kill_once(acked: int) -> None:
            if acked >= BURST // 3 and not killed.is_set():
                os.kill(worker.pid, signal.SIGKILL)
                killed.set()

        assert send_track_batches(run.ingest, "killed", BURST, on_sent=kill_once) == BURST
        assert killed.is_set()
        wait_until(lambda: _all_written(run, "killed", BURST), 120, run)
        restarted = run.refresh().processes["worker"]
        assert restarted.pid != worker.pid and restarted.alive()
        assert '"child": "worker"' in run.log_since() and "child_restarted" in run.log_since()

        # The CLI finds the running stack without any setting.
        env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
        env["THREADLINE_DATA_DIR"] = str(run.data_dir)
        listed = subprocess.run(
            [sys.executable, "-m", "services.cli", "deadletter", "list"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert listed.returncode == 0, listed.stderr
        assert "0 dead letter(s)" in listed.stdout + listed.stderr

        code = run.stop()
        assert code == 0 and run.stop_seconds < STOP_LIMIT_S and run.leftovers() == []


def test_recycling_the_broker_under_load_refuses_and_loses_nothing(tmp_path: Path) -> None:
    # A limit below an empty broker's memory: it is recycled at every check (every 5 s).
    with dev_stack_run(tmp_path, THREADLINE_BROKER_RECYCLE_MB="1") as run:
        run.start()
        total = 0
        while run.log_since().count("broker_recycled") < 2:
            try:
                total += send_track_batches(run.ingest, f"recycle-{total}", 500, per_request=50)
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n{run.log_since()[-6000:]}") from None
            assert total < 200_000, "the broker was never recycled"
        wait_until(lambda: _count_prefix(run, "segment:recycle-") == total, 120, run)
        assert "broker_recycle_postponed" not in run.log_since()
        code = run.stop()
        assert code == 0 and run.stop_seconds < STOP_LIMIT_S and run.leftovers() == []


def test_what_a_killed_supervisor_left_is_found_and_nothing_is_lost(tmp_path: Path) -> None:
    with dev_stack_run(tmp_path) as run:
        run.start()
        assert send_track_batches(run.ingest, "orphan", BURST) == BURST
        assert run.proc is not None
        run.proc.kill()  # the supervisor dies; its broker still holds what it was sent
        run.proc.wait()
        offset = len(run.log_since().encode())
        run.start()
        assert "did not stop cleanly" in run.log_since(offset)
        wait_until(lambda: _all_written(run, "orphan", BURST), 120, run)
        assert httpx.get(f"{run.api}/readyz", timeout=5).status_code == 200
        code = run.stop()
        assert code == 0 and run.stop_seconds < STOP_LIMIT_S and run.leftovers() == []


def _count_prefix(run: DevStackRun, prefix: str) -> int:
    rows, distinct = run.count_events(prefix)
    assert rows == distinct, f"{rows - distinct} events written twice"
    return rows
