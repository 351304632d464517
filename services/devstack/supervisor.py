"""`threadline dev`: the whole stack on one machine, supervised like a small production.

Start: stale processes of a run that crashed are stopped (what their broker still held is
saved first), PostgreSQL and the broker start, migrations run, records saved at the last
stop are published again, then the worker, gateway, SMTP listener and API start; the banner
prints once every part is ready, the worker included.

While it runs a child that exits is restarted with backoff; a broker that exits is replaced
(the worker restarts with it and the publishers take fresh producers); PostgreSQL is
restarted; a broker holding more than `BROKER_RECYCLE_MB` is recycled (see `recycle`).

Stop (Ctrl-C or SIGTERM, once): the gateway, SMTP listener and API stop accepting; the worker
writes what the broker holds (bounded, with progress), commits and stops; what is left is
saved to the spool folder; then the broker, then PostgreSQL. Further signals are absorbed.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Final

import structlog

from profile_store.storage import migrate
from services.devstack import recycle
from services.devstack.backlog import Backlog
from services.devstack.children import Child, stop_together
from services.devstack.handover import Progress, drain, open_backlog, replay, spool_backlog
from services.devstack.runstate import ProcessRef, RunState, StackAlreadyRunning, StackInfo
from services.devstack.startup import child_env, print_banner, stop_leftovers, wait_all_ready
from services.embedded import (
    EmbeddedBroker,
    EmbeddedPostgres,
    EmbeddedStackError,
    free_port,
    runtime_dir,
)
from services.kafka_admin import ensure_topics
from services.logs import configure_logging
from services.settings import DevSettings, LogSettings

log = structlog.get_logger("threadline.dev")
ROLES: Final = ("worker", "ingest", "smtp", "api")
PUBLISHERS: Final = ("ingest", "smtp")
_TICK_S: Final = 0.25
_CHECK_EVERY_S: Final = 5.0
#: A stop ends within this many seconds (DESIGN: within 10 s).
STOP_BUDGET_S: Final = 9.0
_WORKER_STOP_S: Final = 3.0
_INFRA_STOP_S: Final = 1.5


class _StopDuringStart(Exception):
    pass


class DevStack:
    """The supervisor: owns the broker, PostgreSQL and the four Threadline processes."""

    def __init__(self, settings: DevSettings, demo: bool = False) -> None:
        self.settings = settings
        self.demo = demo
        self.state = RunState(settings.data_dir)
        self.broker: EmbeddedBroker | None = None
        self.postgres: EmbeddedPostgres | None = None
        self.bootstrap = settings.kafka_bootstrap or f"127.0.0.1:{settings.broker_port}"
        self.database_url = settings.database_url or ""
        self.children: dict[str, Child] = {}
        self.backlog: Backlog | None = None
        self.last_lag = 0
        self.recycle_not_before = 0.0
        #: A replacement worker waiting for the recycle, and the file that lets it go.
        self.standby: tuple[Child, Path] | None = None
        self._starting = True
        self._stop_at: float | None = None

    # -- signals ---------------------------------------------------------------------------

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._stop_at is not None:
            waited = time.monotonic() - self._stop_at
            print(f"\nalready stopping ({waited:.0f}s); it finishes by itself", flush=True)
            return
        self._stop_at = time.monotonic()
        if self._starting:
            raise _StopDuringStart

    # -- run -------------------------------------------------------------------------------

    def run(self) -> int:
        """Start, supervise until a signal, stop in order; returns the exit code."""
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        # Inherited by the children: a hold/resume signal that arrives before a child has
        # installed its handler is ignored instead of killing it.
        for sig in (signal.SIGUSR1, signal.SIGUSR2):
            signal.signal(sig, signal.SIG_IGN)
        try:
            self.state.acquire()
        except StackAlreadyRunning as exc:
            print(f"threadline dev: {exc}", file=sys.stderr, flush=True)
            return 1
        code = 0
        try:
            self._start()
            self._starting = False
            if self._stop_at is None:
                self._supervise()
        except _StopDuringStart:
            pass
        except (EmbeddedStackError, OSError) as exc:
            print(f"threadline dev: {exc}", file=sys.stderr, flush=True)
            code = 1
        finally:
            self._starting = False
            if self._stop_at is None:
                self._stop_at = time.monotonic()
            self._shutdown()
            self.state.release()
        return code

    def _start(self) -> None:
        settings, data_dir = self.settings, self.state.data_dir
        stop_leftovers(self.state, settings)
        if not settings.database_url:
            self.postgres = EmbeddedPostgres(data_dir / "pgdata")
            self.database_url = self.postgres.start("threadline")
            print(f"postgres    embedded, data in {data_dir / 'pgdata'}", flush=True)
        if not settings.kafka_bootstrap:
            self.broker = EmbeddedBroker(settings.broker_port, log_path=data_dir / "broker.log")
            self.bootstrap = self.broker.start()
            print(f"broker      kafka://{self.bootstrap} (embedded Tansu, memory only)", flush=True)
        migrate.upgrade(self.database_url)
        ensure_topics(self.bootstrap, settings.partitions)
        replayed = replay(self.state.spool_dir, self.bootstrap)
        if replayed:
            print(f"republished {replayed} events saved at the last stop", flush=True)
        for role in ROLES:
            self.children[role] = self.new_child(role)
            self.children[role].start()
        wait_all_ready(self.children, self._ports(), settings.start_timeout_s)
        self._publish_state()
        if self.demo:
            from services.demo import load_demo

            sent = load_demo(f"http://127.0.0.1:{settings.ingest_port}")
            print(f"demo data: {sent} requests sent; try the phone (415) 555-0132", flush=True)
        print_banner(settings, self.state)

    def new_child(self, role: str, start_gate: Path | None = None) -> Child:
        """A child process of `role` (not started); a worker with `start_gate` waits for that
        file before it connects, and gets a metrics port of its own."""
        ports = self._ports()
        if role == "worker":
            ports["worker"] = free_port()
        env = child_env(self.settings, role, self.bootstrap, self.database_url, ports)
        env["THREADLINE_DEV_CONTROL_DIR"] = str(self.state.control_dir)
        if start_gate is not None:
            env["THREADLINE_DEV_START_GATE"] = str(start_gate)
        probe = ports["worker"] if role == "worker" else None
        return Child(role, [sys.executable, "-m", "services.cli", role], env, probe_port=probe)

    @property
    def worker_port(self) -> int:
        """The probe port of the current worker."""
        worker = self.children.get("worker")
        assert worker is not None and worker.probe_port is not None
        return worker.probe_port

    def _ports(self) -> dict[str, int]:
        s = self.settings
        worker = self.children.get("worker")
        return {"api": s.api_port, "ingest": s.ingest_port, "smtp": s.smtp_port,
                "worker": worker.probe_port or 0 if worker else 0}  # fmt: skip

    def _publish_state(self) -> None:
        processes = {n: ProcessRef.of(c.pid) for n, c in self.children.items() if c.pid}
        if self.broker is not None and self.broker.pid:
            processes["broker"] = ProcessRef.of(self.broker.pid)
        if self.standby is not None and self.standby[0].pid:
            processes["worker-standby"] = ProcessRef.of(self.standby[0].pid)
        s = self.settings
        me = ProcessRef.of(os.getpid())
        assert me is not None
        self.state.publish(
            StackInfo(
                supervisor=me,
                data_dir=str(self.state.data_dir),
                api_url=f"http://127.0.0.1:{s.api_port}",
                ingest_url=f"http://127.0.0.1:{s.ingest_port}",
                smtp=f"127.0.0.1:{s.smtp_port}",
                kafka_bootstrap=self.bootstrap,
                database_url=self.database_url,
                embedded_broker=self.broker is not None,
                processes={k: v for k, v in processes.items() if v is not None},
            )
        )

    # -- supervise -------------------------------------------------------------------------

    def _supervise(self) -> None:
        next_check = time.monotonic() + _CHECK_EVERY_S
        while self._stop_at is None:
            now = time.monotonic()
            changed = self._watch_children(now)
            if self.broker is not None and not self.broker.alive():
                recycle.replace_crashed_broker(self)
                changed = True
            if self.postgres is not None and not self.postgres.alive():
                log.error("postgres_exited_restarting")
                self.postgres.start("threadline")
                changed = True
            if now >= next_check:
                next_check = now + _CHECK_EVERY_S
                standby = self.standby
                changed |= recycle.check_memory(self) or self.standby is not standby
            if changed:
                self._publish_state()
            time.sleep(_TICK_S)

    def _watch_children(self, now: float) -> bool:
        changed = False
        for child in self.children.values():
            code = child.exited()
            if code is not None and child.restart_at is None:
                delay = child.schedule_restart(now)
                log.warning("child_exited", child=child.name, code=code, restart_in_s=delay)
            elif child.due(now):
                child.start()
                log.info("child_restarted", child=child.name, restarts=child.restarts)
                changed = True
        return changed

    def open_backlog(self) -> Backlog | None:
        """The (cached) reader of what the broker holds for the worker's group."""
        if self.backlog is None:
            self.backlog = open_backlog(self.bootstrap, self.settings.consumer_group)
        return self.backlog

    def close_backlog(self) -> None:
        """Drop the reader (before its broker goes away)."""
        if self.backlog is not None:
            self.backlog.close()
            self.backlog = None

    # -- stop ------------------------------------------------------------------------------

    def _shutdown(self) -> None:
        began = self._stop_at or time.monotonic()

        def left(reserve: float) -> float:
            return max(0.5, began + STOP_BUDGET_S - reserve - time.monotonic())

        print("\nstopping: the gateway, SMTP listener and API stop accepting", flush=True)
        front = [self.children[r] for r in (*PUBLISHERS, "api") if r in self.children]
        stop_together(front, 2.0)
        worker = self.children.get("worker")
        backlog = self.open_backlog() if self.broker is not None and self.broker.alive() else None
        if worker is not None and backlog is not None:
            progress = Progress()
            remaining = drain(
                backlog,
                worker,
                min(self.settings.stop_drain_s, left(reserve=_WORKER_STOP_S + _INFRA_STOP_S)),
                lambda n, s: progress.show(f"draining: {n} events left to write ({s:.0f}s)"),
            )
            progress.done()
            if remaining:
                print(f"drain time is up with {remaining} events left", flush=True)
        if worker is not None:
            worker.stop(min(_WORKER_STOP_S, left(reserve=_INFRA_STOP_S)))
        if self.standby is not None:
            self.standby[0].stop(0.0)  # idle, never connected
        saved = spool_backlog(backlog, self.state.spool_dir) if backlog is not None else 0
        self.close_backlog()
        if saved:
            print(
                f"saved {saved} events not yet written to {self.state.spool_dir}; "
                "they are written at the next start",
                flush=True,
            )
        if self.broker is not None:
            self.broker.stop(1.0)
        if self.postgres is not None:
            self.postgres.stop(3.0)
        print(f"stopped in {time.monotonic() - began:.1f}s", flush=True)


def run_dev(demo: bool = False) -> int:
    """`threadline dev [--demo]`; returns the exit code."""
    os.environ.setdefault("XDG_RUNTIME_DIR", runtime_dir())
    # One log format for the whole run: the children's (plain text unless LOG_JSON is set).
    logs = LogSettings(log_json=os.environ.get("THREADLINE_LOG_JSON", "false"))
    configure_logging(logs.log_level, logs.log_json)
    return DevStack(DevSettings(), demo=demo).run()
