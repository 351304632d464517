"""Starting the dev stack: leftovers of a crashed run, the children's settings, readiness,
and the banner."""

from __future__ import annotations

import os
import signal
import time
import urllib.request
from collections.abc import Mapping
from typing import Final

import structlog

from services.devstack.backlog import BacklogError
from services.devstack.children import Child
from services.devstack.handover import open_backlog, spool_backlog
from services.devstack.runstate import ProcessRef, RunState
from services.embedded import EmbeddedStackError, port_open, postmaster_pid, stop_postgres
from services.settings import DevSettings

log = structlog.get_logger("threadline.dev")

DEV_KEYS: Final = {
    "agent": "dev-agent-key",
    "admin": "dev-admin-key",
    "server write key": "dev-write-key",
    "browser write key": "dev-browser-key",
    "verification secret": "dev-verification-secret",
}


def child_env(
    settings: DevSettings, role: str, bootstrap: str, database_url: str, ports: Mapping[str, int]
) -> dict[str, str]:
    """The environment of one child: dev mode, loopback, the stack's addresses."""
    env = dict(os.environ)
    env.update(
        THREADLINE_DEV_MODE="true",
        THREADLINE_KAFKA_BOOTSTRAP=bootstrap,
        THREADLINE_DATABASE_URL=database_url,
        THREADLINE_HOST="127.0.0.1",
        THREADLINE_PARTITIONS=str(settings.partitions),
        THREADLINE_CONSUMER_GROUP=settings.consumer_group,
        THREADLINE_SESSION_TIMEOUT_S=env.get("THREADLINE_SESSION_TIMEOUT_S", "6"),
        THREADLINE_HEARTBEAT_INTERVAL_S=env.get("THREADLINE_HEARTBEAT_INTERVAL_S", "1"),
        THREADLINE_REBALANCE_TIMEOUT_S=env.get("THREADLINE_REBALANCE_TIMEOUT_S", "6"),
        THREADLINE_COMMIT_INTERVAL_S=env.get("THREADLINE_COMMIT_INTERVAL_S", "0.5"),
        THREADLINE_LOG_JSON=env.get("THREADLINE_LOG_JSON", "false"),
        THREADLINE_DEV_SUPERVISOR_PID=str(os.getpid()),
    )
    if role == "api":
        env["THREADLINE_PORT"] = str(ports["api"])
    elif role == "ingest":
        env["THREADLINE_PORT"] = str(ports["ingest"])
    elif role == "smtp":
        env["THREADLINE_SMTP_HOST"] = "127.0.0.1"
        env["THREADLINE_SMTP_PORT"] = str(ports["smtp"])
    elif role == "worker":
        env["THREADLINE_METRICS_HOST"] = "127.0.0.1"
        env["THREADLINE_METRICS_PORT"] = str(ports["worker"])
    return env


def http_ready(url: str) -> bool:
    """True if `url` answers 200 right now."""
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - loopback http
            return bool(resp.status == 200)
    except OSError:
        return False


def wait_all_ready(children: Mapping[str, Child], ports: Mapping[str, int], timeout: float) -> None:
    """Wait until the gateway, API and worker answer /readyz and SMTP listens; fail if a
    child exits first (a port in use, a bad setting) or the time runs out."""
    checks = {
        "worker": lambda: http_ready(f"http://127.0.0.1:{ports['worker']}/readyz"),
        "ingest": lambda: http_ready(f"http://127.0.0.1:{ports['ingest']}/readyz"),
        "api": lambda: http_ready(f"http://127.0.0.1:{ports['api']}/readyz"),
        "smtp": lambda: port_open("127.0.0.1", ports["smtp"]),
    }
    waiting = set(checks)
    deadline = time.monotonic() + timeout
    while waiting:
        for name, child in children.items():
            code = child.exited()
            if code is not None:
                raise EmbeddedStackError(f"{name} exited with code {code} during start")
        waiting = {name for name in waiting if not checks[name]()}
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise EmbeddedStackError(
                f"not ready within {timeout:.0f}s: {', '.join(sorted(waiting))}"
            )
        time.sleep(0.3)


def wait_ready(url: str, procs: Mapping[str, object], timeout: float = 60) -> None:
    """Wait until `url` answers 200 (used by the benchmark's own process handling)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for role, proc in procs.items():
            code = getattr(proc, "poll", lambda: None)()
            if code is not None:
                raise EmbeddedStackError(f"{role} exited with code {code} during start")
        if http_ready(url):
            return
        time.sleep(0.3)
    raise EmbeddedStackError(f"{url} did not answer 200 within {timeout:.0f}s")


def stop_leftovers(state: RunState, settings: DevSettings) -> None:
    """Stop what a run that did not stop cleanly left behind, saving its broker's backlog."""
    info = state.leftover()
    if info is not None:
        alive = {name: ref for name, ref in info.processes.items() if ref.alive()}
        if alive:
            print(
                f"found processes left running by an earlier threadline dev (pid "
                f"{info.supervisor.pid}) that did not stop cleanly: {', '.join(sorted(alive))}; "
                "stopping them",
                flush=True,
            )
        if "broker" in alive and info.embedded_broker:
            _rescue_backlog(state, info.kafka_bootstrap, settings.consumer_group)
        for name in sorted(alive, key=lambda n: n == "broker"):  # the broker last
            _terminate(alive[name])
        state.clear()
    pgdata = state.data_dir / "pgdata"
    if not settings.database_url and postmaster_pid(pgdata) is not None:
        print("found the embedded PostgreSQL still running; restarting it", flush=True)
        stop_postgres(pgdata)


def _rescue_backlog(state: RunState, bootstrap: str, group: str) -> None:
    backlog = open_backlog(bootstrap, group)
    if backlog is None:
        return
    try:
        saved = spool_backlog(backlog, state.spool_dir)
        if saved:
            print(f"saved {saved} events the old broker still held", flush=True)
    except BacklogError as exc:
        log.warning("backlog_rescue_failed", reason=str(exc))
    finally:
        backlog.close()


def _terminate(ref: ProcessRef, timeout: float = 5.0) -> None:
    try:
        os.kill(ref.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while ref.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    if ref.alive():
        os.kill(ref.pid, signal.SIGKILL)


def print_banner(settings: DevSettings, state: RunState) -> None:
    """The URLs and dev keys, printed once everything is ready."""
    print(
        "\nThreadline is running (dev mode, 127.0.0.1 only)\n"
        f"  agent console + API  http://127.0.0.1:{settings.api_port}/   (API docs: /docs)\n"
        f"  ingest gateway       http://127.0.0.1:{settings.ingest_port}/   (docs: /docs)\n"
        f"  SMTP listener        smtp://127.0.0.1:{settings.smtp_port}\n"
        f"  dev API keys         agent: {DEV_KEYS['agent']}   admin: {DEV_KEYS['admin']}\n"
        f"  write keys           server: {DEV_KEYS['server write key']}   "
        f"browser: {DEV_KEYS['browser write key']} "
        f"(user_hash secret: {DEV_KEYS['verification secret']})\n"
        f"  CLI                  threadline deadletter list, threadline insights refresh ...\n"
        f"                       find this stack by themselves ({state.stack_file})\n"
        "  Ctrl-C stops everything; timelines are kept in the data folder.\n",
        flush=True,
    )
