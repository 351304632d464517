"""The steps that move records safely past a stop or a replacement of the embedded broker.

Used by the ordered stop (drain, then spool what is left), by the recycling of a broker that
holds too much memory (hold the publishers, drain, spool, new broker, replay, resume) and by
the recovery from a broker that crashed (new broker, restarted worker, fresh producers).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

import structlog

from services.devstack.backlog import Backlog, BacklogError, replay_spools, save_spool
from services.devstack.children import Child

log = structlog.get_logger("threadline.dev")

HOLD_TIMEOUT_S: Final = 12.0
_POLL_S: Final = 0.25


class Progress:
    """One status line, rewritten in place on a terminal, printed at most once a second
    elsewhere."""

    def __init__(self) -> None:
        self._tty = sys.stdout.isatty()
        self._last = 0.0
        self._shown = False

    def show(self, text: str) -> None:
        """Show `text` as the current status."""
        now = time.monotonic()
        if self._tty:
            print(f"\r{text:<72}", end="", flush=True)
            self._shown = True
        elif now - self._last >= 1.0:
            print(text, flush=True)
            self._last = now

    def done(self) -> None:
        """End the status line."""
        if self._tty and self._shown:
            print(flush=True)
        self._shown = False


def hold_publishers(publishers: Sequence[Child], control_dir: Path) -> bool:
    """Ask the gateway and the SMTP listener to stop publishing; True once every running one
    confirmed that nothing is in flight (see `ingest.devcontrol`)."""
    running = [c for c in publishers if c.alive()]
    for child in running:
        with contextlib.suppress(FileNotFoundError):
            (control_dir / f"{child.name}.held").unlink()
        child.send(signal.SIGUSR1)
    deadline = time.monotonic() + HOLD_TIMEOUT_S
    while time.monotonic() < deadline:
        if all((control_dir / f"{c.name}.held").exists() or not c.alive() for c in running):
            return True
        time.sleep(0.05)
    return False


def resume_publishers(publishers: Sequence[Child]) -> None:
    """Let the publishers through again, each on a fresh producer."""
    for child in publishers:
        child.send(signal.SIGUSR2)


def drain(
    backlog: Backlog,
    worker: Child,
    bound_s: float,
    on_progress: Callable[[int, float], None] | None = None,
) -> int:
    """Wait until the worker committed everything the broker holds, at most `bound_s`
    seconds (or until the worker is gone); returns how many records are left."""
    deadline = time.monotonic() + bound_s
    left = backlog.lag()
    while left and worker.alive() and time.monotonic() < deadline:
        if on_progress is not None:
            on_progress(left, max(0.0, deadline - time.monotonic()))
        time.sleep(_POLL_S)
        left = backlog.lag()
    return left


def spool_backlog(backlog: Backlog, spool_dir: Path) -> int:
    """Save every record the group has not committed; returns how many were saved."""
    path, count = save_spool(spool_dir, backlog.uncommitted())
    if path is not None:
        log.warning("backlog_saved", records=count)
    return count


def open_backlog(bootstrap: str, group: str) -> Backlog | None:
    """A backlog reader, or None (logged) if the broker does not answer."""
    try:
        return Backlog(bootstrap, group)
    except BacklogError as exc:
        log.warning("backlog_unavailable", reason=str(exc))
        return None


def replay(spool_dir: Path, bootstrap: str) -> int:
    """Publish saved records again; returns how many (0 if there were none)."""
    count = replay_spools(spool_dir, bootstrap)
    if count:
        log.info("backlog_replayed", records=count)
    return count
