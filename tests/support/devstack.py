"""`threadline dev` as a user runs it: a real process on free loopback ports, stopped with a
signal, checked for leftovers (processes, ports, the embedded PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg

from services.devstack.runstate import ProcessRef, StackInfo
from services.embedded import free_port, port_open, postmaster_pid

READY_LINE = "Threadline is running"
WRITE_KEY = ("dev-write-key", "")


@dataclass
class DevStackRun:
    """One run of `threadline dev`."""

    data_dir: Path
    log_path: Path
    ports: dict[str, int]
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    info: StackInfo | None = None
    stop_seconds: float = 0.0
    refs: dict[str, ProcessRef] = field(default_factory=dict)

    @property
    def ingest(self) -> str:
        """The gateway's base URL."""
        return f"http://127.0.0.1:{self.ports['ingest']}"

    @property
    def api(self) -> str:
        """The API's base URL."""
        return f"http://127.0.0.1:{self.ports['api']}"

    def start(self, *flags: str, timeout: float = 150) -> None:
        """Start and wait for the banner (printed once every part is ready)."""
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "services.cli", "dev", *flags],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # as in a terminal of its own: signals reach it alone
            )
        wait_until(lambda: READY_LINE in self.log_since(offset), timeout, self)
        self.info = StackInfo.from_json((self.data_dir / "run" / "stack.json").read_bytes())
        self.refs = dict(self.info.processes)

    def log_since(self, offset: int = 0) -> str:
        """The combined output from byte `offset`."""
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def refresh(self) -> StackInfo:
        """Re-read the stack file (process ids change when a child is restarted)."""
        self.info = StackInfo.from_json((self.data_dir / "run" / "stack.json").read_bytes())
        self.refs.update(self.info.processes)
        return self.info

    def stop(self, *extra_signals: tuple[float, int], first: int = signal.SIGINT) -> int:
        """Send `first`, then each (delay, signal) of `extra_signals`; wait for the exit and
        record how long the stop took; returns the exit code."""
        assert self.proc is not None
        began = time.monotonic()
        self.proc.send_signal(first)
        for delay, sig in extra_signals:
            time.sleep(delay)
            if self.proc.poll() is None:
                self.proc.send_signal(sig)
        try:
            code = self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        self.stop_seconds = time.monotonic() - began
        return code

    def leftovers(self) -> list[str]:
        """Anything of this run still running or listening after its stop."""
        found = [f"{name} (pid {ref.pid})" for name, ref in self.refs.items() if ref.alive()]
        found += [f"port {p}" for p in self.ports.values() if port_open("127.0.0.1", p)]
        if postmaster_pid(self.data_dir / "pgdata") is not None:
            found.append("postgres")
        return found

    def database(self) -> psycopg.Connection[Any]:
        """A connection to the stack's database."""
        assert self.info is not None
        return psycopg.connect(self.info.database_url, autocommit=True)

    def count_events(self, prefix: str) -> tuple[int, int]:
        """(rows, distinct event ids) of timeline events whose id starts with `prefix`."""
        with self.database() as conn:
            row = conn.execute(
                "SELECT count(*), count(DISTINCT event_id) FROM timeline_events "
                "WHERE event_id LIKE %s",
                (prefix.replace("_", r"\_") + "%",),
            ).fetchone()
        assert row is not None
        return int(row[0]), int(row[1])


@contextmanager
def dev_stack_run(tmp_path: Path, **env: str) -> Iterator[DevStackRun]:
    """A data folder and free ports for `threadline dev`; kills whatever is left at the end."""
    ports = {name: free_port() for name in ("api", "ingest", "broker", "smtp", "smtp_metrics")}
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in ("THREADLINE_KAFKA_BOOTSTRAP", "THREADLINE_DATABASE_URL")
    }
    environ.update(
        THREADLINE_DATA_DIR=str(tmp_path / "data"),
        THREADLINE_API_PORT=str(ports["api"]),
        THREADLINE_INGEST_PORT=str(ports["ingest"]),
        THREADLINE_BROKER_PORT=str(ports["broker"]),
        THREADLINE_SMTP_PORT=str(ports["smtp"]),
        THREADLINE_SMTP_METRICS_PORT=str(ports["smtp_metrics"]),
        THREADLINE_LOG_JSON="true",
        **env,
    )
    run = DevStackRun(tmp_path / "data", tmp_path / "dev.log", ports, environ)
    try:
        yield run
    finally:
        if run.proc is not None and run.proc.poll() is None:
            run.stop()
        for ref in run.refs.values():
            if ref.alive():
                os.kill(ref.pid, signal.SIGKILL)


def wait_until(check: Callable[[], Any], timeout: float, run: DevStackRun | None = None) -> Any:
    """Poll `check` until it returns something true; fail if `threadline dev` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if run is not None and run.proc is not None and run.proc.poll() is not None:
            tail = run.log_since()[-4000:]
            raise AssertionError(f"threadline dev exited with {run.proc.returncode}:\n{tail}")
        result = check()
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError("timed out")


def send_track_batches(
    ingest: str, tag: str, count: int, per_request: int = 100, on_sent: Any = None
) -> int:
    """Send `count` track events in Segment batches; returns how many were acknowledged
    (every request must be: 200). `on_sent(n)` is called after each request."""
    acked = 0
    with httpx.Client(auth=WRITE_KEY, timeout=30) as client:
        for start in range(0, count, per_request):
            batch = [
                {
                    "type": "track",
                    "event": "Stack test",
                    "anonymousId": f"{tag}-device-{(start + i) % 40}",
                    "messageId": f"{tag}-{start + i}",
                    "timestamp": "2026-12-01T10:00:00Z",
                }
                for i in range(min(per_request, count - start))
            ]
            resp = client.post(
                f"{ingest}/v1/batch",
                content=orjson.dumps({"batch": batch}),
                headers={"Content-Type": "application/json"},
            )
            assert resp.status_code == 200, resp.text
            acked += len(batch)
            if on_sent is not None:
                on_sent(acked)
    return acked
