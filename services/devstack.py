"""`threadline dev`: embedded broker and PostgreSQL, migrations, then worker, ingest and API.

Everything binds to 127.0.0.1. Ctrl-C (or SIGTERM) stops the children gracefully, then the
broker and PostgreSQL; PostgreSQL's data folder stays so timelines survive a restart.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import FrameType

from profile_store.storage import migrate
from services.demo import load_demo
from services.embedded import EmbeddedBroker, EmbeddedPostgres, EmbeddedStackError, port_open
from services.kafka_admin import ensure_topics
from services.settings import DevSettings

DEV_KEYS = {"agent": "dev-agent-key", "admin": "dev-admin-key", "web write key": "dev-write-key"}
ROLES = ("worker", "ingest", "smtp", "api")


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def _child_env(
    settings: DevSettings, bootstrap: str, database_url: str, role: str
) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        THREADLINE_DEV_MODE="true",
        THREADLINE_KAFKA_BOOTSTRAP=bootstrap,
        THREADLINE_DATABASE_URL=database_url,
        THREADLINE_HOST="127.0.0.1",
        THREADLINE_PARTITIONS=str(settings.partitions),
        THREADLINE_SESSION_TIMEOUT_S=env.get("THREADLINE_SESSION_TIMEOUT_S", "6"),
        THREADLINE_HEARTBEAT_INTERVAL_S=env.get("THREADLINE_HEARTBEAT_INTERVAL_S", "1"),
        THREADLINE_REBALANCE_TIMEOUT_S=env.get("THREADLINE_REBALANCE_TIMEOUT_S", "6"),
        THREADLINE_LOG_JSON=env.get("THREADLINE_LOG_JSON", "false"),
    )
    if role == "api":
        env["THREADLINE_PORT"] = str(settings.api_port)
    elif role == "ingest":
        env["THREADLINE_PORT"] = str(settings.ingest_port)
    elif role == "smtp":
        env["THREADLINE_SMTP_HOST"] = "127.0.0.1"
        env["THREADLINE_SMTP_PORT"] = str(settings.smtp_port)
    return env


def wait_ready(url: str, procs: dict[str, subprocess.Popen[bytes]], timeout: float = 60) -> None:
    """Wait until `url` answers 200; fail if one of `procs` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for role, proc in procs.items():
            if proc.poll() is not None:
                raise EmbeddedStackError(f"{role} exited with code {proc.returncode} during start")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - loopback http
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise EmbeddedStackError(f"{url} did not answer 200 within {timeout:.0f}s")


def _wait_listening(
    port: int, procs: dict[str, subprocess.Popen[bytes]], timeout: float = 30
) -> None:
    deadline = time.monotonic() + timeout
    while not port_open("127.0.0.1", port):
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs.values()):
            raise EmbeddedStackError(f"nothing listens on 127.0.0.1:{port} (SMTP)")
        time.sleep(0.2)


def _stop_children(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 30
    for proc in procs.values():
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_dev(demo: bool = False) -> int:
    """Start the stack and block until interrupted; returns the exit code."""
    settings = DevSettings()
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    broker: EmbeddedBroker | None = None
    postgres: EmbeddedPostgres | None = None
    procs: dict[str, subprocess.Popen[bytes]] = {}
    # Installed explicitly: a shell that starts us in the background may have ignored SIGINT.
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    code = 0
    try:
        bootstrap = settings.kafka_bootstrap
        if not bootstrap:
            broker = EmbeddedBroker(settings.broker_port, log_path=data_dir / "broker.log")
            bootstrap = broker.start()
            print(f"broker      kafka://{bootstrap} (embedded Tansu, memory only)", flush=True)
        database_url = settings.database_url
        if not database_url:
            postgres = EmbeddedPostgres(data_dir / "pgdata")
            database_url = postgres.start("threadline")
            print(f"postgres    embedded, data in {data_dir / 'pgdata'}", flush=True)
        migrate.upgrade(database_url)
        ensure_topics(bootstrap, settings.partitions)
        for role in ROLES:
            procs[role] = subprocess.Popen(
                [sys.executable, "-m", "services.cli", role],
                env=_child_env(settings, bootstrap, database_url, role),
                cwd=Path.cwd(),
            )
        wait_ready(f"http://127.0.0.1:{settings.ingest_port}/readyz", procs)
        wait_ready(f"http://127.0.0.1:{settings.api_port}/readyz", procs)
        _wait_listening(settings.smtp_port, procs)
        if demo:
            sent = load_demo(f"http://127.0.0.1:{settings.ingest_port}")
            print(f"demo data: {sent} requests sent; try the phone (415) 555-0132", flush=True)
        _print_banner(settings)
        while all(p.poll() is None for p in procs.values()):
            time.sleep(0.5)
        dead = [f"{r} (exit {p.returncode})" for r, p in procs.items() if p.poll() is not None]
        print(f"stopping: {', '.join(dead)} stopped unexpectedly", file=sys.stderr, flush=True)
        code = 1
    except (KeyboardInterrupt, _Stop):
        print("\nstopping...", flush=True)
    except EmbeddedStackError as exc:
        print(f"threadline dev: {exc}", file=sys.stderr, flush=True)
        code = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _stop_children(procs)
        if broker is not None:
            broker.stop()
        if postgres is not None:
            postgres.stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)
    return code


def _print_banner(settings: DevSettings) -> None:
    print(
        "\nThreadline is running (dev mode, 127.0.0.1 only)\n"
        f"  agent console + API  http://127.0.0.1:{settings.api_port}/   (docs: /docs)\n"
        f"  ingest gateway       http://127.0.0.1:{settings.ingest_port}/   (Segment: /v1/batch)\n"
        f"  SMTP listener        smtp://127.0.0.1:{settings.smtp_port}\n"
        f"  dev API keys         agent: {DEV_KEYS['agent']}   admin: {DEV_KEYS['admin']}\n"
        f"  web write key        {DEV_KEYS['web write key']}\n"
        "  Ctrl-C stops everything; timelines are kept in the data folder.\n",
        flush=True,
    )
