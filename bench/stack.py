"""The system under test: broker and PostgreSQL (embedded, or from the environment) and the
Threadline processes (workers, ingest gateway, API) started as `threadline dev` starts them."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import httpx
import psycopg
from prometheus_client.parser import text_string_to_metric_families
from psycopg import sql
from sqlalchemy.engine import make_url

from bench import BenchError
from profile_store.storage import migrate
from services.devstack import wait_ready
from services.embedded import (
    EmbeddedBroker,
    EmbeddedPostgres,
    EmbeddedStackError,
    create_database,
    drop_database,
    free_port,
    with_database,
)
from services.kafka_admin import ensure_topics

WRITE_KEY: Final = "dev-write-key"
AGENT_KEY: Final = "dev-agent-key"
#: Set on the bench's own embedded PostgreSQL (reloadable settings only), never on a server
#: from THREADLINE_DATABASE_URL.
SERVER_SETTINGS: Final = {"max_wal_size": "8GB"}


@dataclass
class Infra:
    """Broker and PostgreSQL server; databases are created per phase and dropped at the end."""

    data_dir: Path
    bootstrap: str = ""
    admin_url: str = ""
    external_broker: bool = False
    brokers: list[EmbeddedBroker] = field(default_factory=list)
    postgres: EmbeddedPostgres | None = None
    databases: list[str] = field(default_factory=list)

    def start(self) -> None:
        """Start what the environment does not provide."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        external = os.environ.get("THREADLINE_DATABASE_URL")
        if external:
            self.admin_url = external
        else:
            self.postgres = EmbeddedPostgres(self.data_dir / "pgdata")
            self.admin_url = with_database(self.postgres.start("postgres"), "postgres")
            self._drop_leftovers()
            self._size_wal()
        bootstrap = os.environ.get("THREADLINE_KAFKA_BOOTSTRAP")
        self.external_broker = bool(bootstrap)
        self.bootstrap = bootstrap or self.fresh_broker()

    def _drop_leftovers(self) -> None:
        """Drop `bench_*` databases an interrupted run left in our own embedded server."""
        with admin_connection(self.admin_url) as conn:
            rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'bench\\_%'")
            names = [str(name) for (name,) in rows]
        for name in names:
            drop_database(self.admin_url, name)

    def _size_wal(self) -> None:
        """Our own server gets room for WAL between checkpoints, as a write-heavy server is
        given: with the default 1 GB the soak's 7-15 MB/s of WAL requested a checkpoint about
        every minute (each followed by a burst of full-page images)."""
        with admin_connection(self.admin_url) as conn:
            for name, value in SERVER_SETTINGS.items():
                conn.execute(
                    sql.SQL("ALTER SYSTEM SET {} = {}").format(
                        sql.Identifier(name), sql.Literal(value)
                    )
                )
            conn.execute("SELECT pg_reload_conf()")

    def server_settings(self) -> dict[str, str]:
        """The PostgreSQL settings the run measured with (whoever's server it is)."""
        names = ["max_wal_size", "checkpoint_timeout", "shared_buffers", "synchronous_commit"]
        query = "SELECT n, current_setting(n) FROM unnest(%s::text[]) AS n"
        with admin_connection(self.admin_url) as conn:
            return {str(name): str(value) for name, value in conn.execute(query, (names,))}

    def fresh_broker(self) -> str:
        """A new, empty embedded broker (memory only) on a free port; returns its bootstrap."""
        broker = EmbeddedBroker(free_port(), log_path=self.data_dir / "broker.log")
        bootstrap = broker.start()
        self.brokers.append(broker)
        return bootstrap

    def database(self, label: str) -> str:
        """A fresh, migrated database for one phase; returns its URL."""
        name = f"bench_{label}_{uuid.uuid4().hex[:6]}"
        create_database(self.admin_url, name)
        self.databases.append(name)
        url = with_database(self.admin_url, name)
        migrate.upgrade(url)
        return url

    def infra_pids(self) -> dict[str, int]:
        """Process ids of the embedded PostgreSQL postmaster and the first broker, if ours."""
        pids = {}
        pid_file = self.data_dir / "pgdata" / "postmaster.pid"
        if self.postgres is not None and pid_file.exists():
            pids["postgres"] = int(pid_file.read_text().split()[0])
        if self.brokers and self.brokers[0].process is not None and not self.external_broker:
            pids["broker"] = self.brokers[0].process.pid
        return pids

    def stop(self) -> None:
        """Drop the phase databases, stop the embedded broker(s) and PostgreSQL."""
        for name in self.databases:
            try:
                drop_database(self.admin_url, name)
            except Exception as exc:  # keep stopping the rest
                print(f"warning: could not drop {name}: {type(exc).__name__}", file=sys.stderr)
        for broker in self.brokers:
            broker.stop()
        if self.postgres is not None:
            self.postgres.stop()


def admin_connection(url: str) -> psycopg.Connection[tuple[object, ...]]:
    """An autocommit psycopg connection to the server at `url` (an SQLAlchemy URL)."""
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(plain, autocommit=True)


def topics(bootstrap: str, partitions: int) -> None:
    """Create the Threadline topics with `partitions` partitions (if missing)."""
    ensure_topics(bootstrap, partitions)


@dataclass
class Processes:
    """Threadline processes of one phase, each `python -m services.cli <role>`."""

    bootstrap: str
    database_url: str
    partitions: int
    log_dir: Path
    group: str = field(default_factory=lambda: f"bench-{uuid.uuid4().hex[:8]}")
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    def _env(self, role: str, name: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            THREADLINE_DEV_MODE="true",
            THREADLINE_KAFKA_BOOTSTRAP=self.bootstrap,
            THREADLINE_DATABASE_URL=self.database_url,
            THREADLINE_HOST="127.0.0.1",
            THREADLINE_PARTITIONS=str(self.partitions),
            THREADLINE_CONSUMER_GROUP=self.group,
            THREADLINE_SESSION_TIMEOUT_S="6",
            THREADLINE_HEARTBEAT_INTERVAL_S="1",
            THREADLINE_REBALANCE_TIMEOUT_S="6",
            THREADLINE_LOG_LEVEL="WARNING",
            THREADLINE_LOG_JSON="false",
            THREADLINE_METRICS_PORT="0",
            PYTHONUNBUFFERED="1",
        )
        if role in ("api", "ingest"):
            env["THREADLINE_PORT"] = str(self.ports[name])
        if role == "worker":
            env["THREADLINE_METRICS_PORT"] = str(self.ports[name])
        if role == "api":
            # One bench key stands for a whole contact centre's agents: the default per-key
            # limit (50/s) would answer most of the load with 429 and flatter the latency.
            env["THREADLINE_RATE_LIMIT_PER_S"] = "100000"
            env["THREADLINE_RATE_LIMIT_BURST"] = "100000"
        return env

    def start(self, role: str, name: str | None = None) -> subprocess.Popen[bytes]:
        """Start one process of `role` (worker, ingest, api) under `name`."""
        name = name or role
        self.ports[name] = free_port()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", role],
            env=self._env(role, name),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs[name] = proc
        if role in ("api", "ingest"):
            try:
                wait_ready(f"{self.url(name)}/readyz", {name: proc})
            except EmbeddedStackError as exc:
                raise BenchError(str(exc)) from None
        return proc

    def url(self, name: str) -> str:
        """Base URL of a process (by default named after its role): the HTTP port of an api or
        ingest process, the probe and metrics port of a worker."""
        return f"http://127.0.0.1:{self.ports[name]}"

    def worker_batches(self, names: list[str]) -> BatchTotals:
        """The workers' batch counters so far, summed (from their Prometheus endpoints)."""
        total = BatchTotals()
        for name in names:
            text = httpx.get(f"{self.url(name)}/metrics", timeout=10).text
            total += BatchTotals.from_metrics(text)
        return total

    def pid(self, name: str) -> int:
        """Process id of a started process."""
        return self.procs[name].pid

    def stop(self, names: list[str] | None = None) -> None:
        """SIGTERM the processes (all, or `names`), then wait; SIGKILL after 30 s."""
        chosen = {n: p for n, p in self.procs.items() if names is None or n in names}
        for proc in chosen.values():
            if proc.poll() is None:
                proc.terminate()
        for name, proc in chosen.items():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            del self.procs[name]


@dataclass(frozen=True)
class BatchTotals:
    """Batches a worker processed: how many, with how many records, in how many seconds."""

    batches: float = 0.0
    records: float = 0.0
    seconds: float = 0.0

    @classmethod
    def from_metrics(cls, text: str) -> BatchTotals:
        """From a worker's Prometheus exposition text."""
        found: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                found[sample.name] = sample.value
        return cls(
            found.get("threadline_worker_batch_size_count", 0.0),
            found.get("threadline_worker_batch_size_sum", 0.0),
            found.get("threadline_worker_batch_seconds_sum", 0.0),
        )

    def __add__(self, other: BatchTotals) -> BatchTotals:
        return BatchTotals(
            self.batches + other.batches,
            self.records + other.records,
            self.seconds + other.seconds,
        )

    def __sub__(self, other: BatchTotals) -> BatchTotals:
        return BatchTotals(
            self.batches - other.batches,
            self.records - other.records,
            self.seconds - other.seconds,
        )

    def summary(self) -> dict[str, float]:
        """Mean records and milliseconds per batch (zeros when there was none)."""
        n = self.batches or math.inf
        return {
            "batches": self.batches,
            "mean_records": self.records / n,
            "mean_ms": 1000 * self.seconds / n,
        }


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MiB (from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise BenchError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (from /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process, its reaped children and its live children (one level): for
    the PostgreSQL postmaster and its backends."""
    tick = os.sysconf("SC_CLK_TCK")
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    total = sum(int(v) for v in fields[11:15]) / tick
    for child in Path("/proc").iterdir():
        if not child.name.isdigit():
            continue
        try:
            stat = (child / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(stat[1]) == pid:
            total += (int(stat[11]) + int(stat[12])) / tick
    return total


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot (from /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(values) - idle) / tick, sum(values) / tick
