"""What a running dev stack leaves where others look: a lock, a stack file, its processes.

`threadline dev` holds an exclusive lock on `<data>/run/supervisor.lock` while it runs, and
writes `<data>/run/stack.json` (mode 600) with its URLs, the database URL and the process
ids of its parts; a copy goes to the user's runtime folder so the CLI finds the stack from
any directory. A stack file whose supervisor is gone names the processes a crash left
behind; the next start stops them (their process start times are recorded, so a recycled
process id is never mistaken for one of ours).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, Final

import orjson

from services import ServicesError

STACK_FILE: Final = "stack.json"
POINTER_NAME: Final = "dev-stack.json"


class StackAlreadyRunning(ServicesError):
    """Another `threadline dev` runs on the same data folder."""


@dataclass(frozen=True)
class ProcessRef:
    """A process id and its start time (clock ticks since boot), which together are unique."""

    pid: int
    started: int

    @classmethod
    def of(cls, pid: int) -> ProcessRef | None:
        """The reference of a running process, or None if it is gone."""
        started = process_start_time(pid)
        return None if started is None else cls(pid, started)

    def alive(self) -> bool:
        """True if this very process still runs."""
        return process_start_time(self.pid) == self.started


@dataclass(frozen=True)
class StackInfo:
    """What the stack file holds."""

    supervisor: ProcessRef
    data_dir: str
    api_url: str
    ingest_url: str
    smtp: str
    kafka_bootstrap: str
    database_url: str
    embedded_broker: bool
    processes: Mapping[str, ProcessRef] = field(default_factory=dict)

    def to_json(self) -> bytes:
        """The file's content."""
        return orjson.dumps(asdict(self), option=orjson.OPT_INDENT_2)

    @classmethod
    def from_json(cls, raw: bytes) -> StackInfo:
        """Parse a stack file (ValueError/KeyError/TypeError if it is not one)."""
        data: dict[str, Any] = orjson.loads(raw)
        return cls(
            supervisor=ProcessRef(**data["supervisor"]),
            data_dir=str(data["data_dir"]),
            api_url=str(data["api_url"]),
            ingest_url=str(data["ingest_url"]),
            smtp=str(data["smtp"]),
            kafka_bootstrap=str(data["kafka_bootstrap"]),
            database_url=str(data["database_url"]),
            embedded_broker=bool(data["embedded_broker"]),
            processes={k: ProcessRef(**v) for k, v in data.get("processes", {}).items()},
        )


class RunState:
    """The run folder of one data folder: lock, stack file, control folder, spool."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self.run_dir = self.data_dir / "run"
        self.control_dir = self.run_dir / "control"
        self.spool_dir = self.data_dir / "spool"
        self.stack_file = self.run_dir / STACK_FILE
        self._lock: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock, or raise StackAlreadyRunning naming the holder."""
        self.run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.control_dir.mkdir(mode=0o700, exist_ok=True)
        handle = (self.run_dir / "supervisor.lock").open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            handle.close()
            raise StackAlreadyRunning(
                f"threadline dev already runs on {self.data_dir} (pid {holder})"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._lock = handle

    def release(self) -> None:
        """Remove the stack file and its copy, and drop the lock."""
        self.clear()
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def leftover(self) -> StackInfo | None:
        """The stack file of an earlier run whose supervisor is gone (a crash), if any."""
        info = _read(self.stack_file)
        if info is None or info.supervisor.alive():
            return None
        return info

    def publish(self, info: StackInfo) -> None:
        """Write the stack file and its copy in the runtime folder (both mode 600)."""
        _write_private(self.stack_file, info.to_json())
        pointer = runtime_pointer()
        with contextlib.suppress(OSError):
            pointer.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            _write_private(pointer, info.to_json())

    def clear(self) -> None:
        """Remove the stack file, and the runtime copy if it describes this data folder."""
        with contextlib.suppress(FileNotFoundError):
            self.stack_file.unlink()
        pointer = runtime_pointer()
        info = _read(pointer)
        if info is not None and Path(info.data_dir) == self.data_dir:
            with contextlib.suppress(FileNotFoundError):
                pointer.unlink()


def find_running_stack(data_dir: str | None = None) -> StackInfo | None:
    """The running dev stack the CLI should talk to: in `data_dir` (THREADLINE_DATA_DIR),
    else `./.threadline`, else the last one started by this user; None if none runs."""
    candidates = [Path(data_dir)] if data_dir else []
    candidates.append(Path(".threadline"))
    paths = [c.resolve() / "run" / STACK_FILE for c in candidates] + [runtime_pointer()]
    for path in paths:
        info = _read(path)
        if info is not None and info.supervisor.alive():
            return info
    return None


def runtime_pointer() -> Path:
    """`$XDG_RUNTIME_DIR/threadline/dev-stack.json` (or a per-user folder in /tmp)."""
    base = os.environ.get("XDG_RUNTIME_DIR") or f"/tmp/threadline-runtime-{os.getuid()}"  # noqa: S108
    return Path(base) / "threadline" / POINTER_NAME


def process_start_time(pid: int) -> int | None:
    """The start time of process `pid` in clock ticks since boot, or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = stat.rsplit(")", 1)[-1].split()
    return int(fields[19]) if len(fields) > 19 and fields[0] != "Z" else None


def _read(path: Path) -> StackInfo | None:
    try:
        return StackInfo.from_json(path.read_bytes())
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_private(path: Path, content: bytes) -> None:
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(content)
    os.chmod(partial, 0o600)
    partial.rename(path)
