"""One supervised process of the dev stack: started in its own session, restarted with backoff.

Children run in a session of their own, so a terminal's Ctrl-C reaches only the supervisor,
which stops them in order. A child that exits on its own is restarted after 1, 2, 4 ... up
to 30 seconds; the delay starts again from 1 s once it has run for a minute.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

MAX_BACKOFF_S: Final = 30.0
STABLE_AFTER_S: Final = 60.0


@dataclass
class Child:
    """A process the supervisor starts, watches and stops."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    #: Seconds it gets to exit after SIGTERM before it is killed.
    stop_timeout_s: float = 3.0
    #: Where it answers /readyz (the worker's metrics port), if anywhere.
    probe_port: int | None = None
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = 0.0
    restart_at: float | None = None
    exit_codes: list[int] = field(default_factory=list)

    def start(self) -> None:
        """Start the process in its own session."""
        self.process = subprocess.Popen(self.argv, env=dict(self.env), start_new_session=True)
        self.started_at = time.monotonic()
        self.restart_at = None

    @property
    def pid(self) -> int | None:
        """The process id while it runs."""
        return self.process.pid if self.alive() and self.process is not None else None

    def alive(self) -> bool:
        """True while the process runs."""
        return self.process is not None and self.process.poll() is None

    def exited(self) -> int | None:
        """The exit code if the process has ended since it was started, else None."""
        if self.process is None:
            return None
        return self.process.poll()

    def schedule_restart(self, now: float) -> float:
        """Record an unexpected exit and choose when to start again; returns the delay."""
        if self.process is not None and self.process.returncode is not None:
            self.exit_codes.append(self.process.returncode)
        if now - self.started_at >= STABLE_AFTER_S:
            self.restarts = 0
        delay = min(MAX_BACKOFF_S, 2.0**self.restarts)
        self.restarts += 1
        self.restart_at = now + delay
        self.process = None
        return delay

    def due(self, now: float) -> bool:
        """True when a scheduled restart should happen now."""
        return self.restart_at is not None and now >= self.restart_at

    def send(self, sig: int) -> None:
        """Send a signal if the process runs."""
        if self.process is not None and self.alive():
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(sig)

    def stop(self, timeout_s: float | None = None) -> int | None:
        """SIGTERM, wait, then SIGKILL (at once with `timeout_s=0`); returns the exit code
        (None if it was not running)."""
        self.restart_at = None
        if self.process is None:
            return None
        if self.alive() and timeout_s == 0:
            self.process.kill()
            self.process.wait(5)
        elif self.alive():
            self.send(signal.SIGTERM)
            try:
                self.process.wait(self.stop_timeout_s if timeout_s is None else timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode


def stop_together(children: Sequence[Child], timeout_s: float) -> None:
    """Send SIGTERM to all at once, wait up to `timeout_s` for all, kill whoever is left."""
    for child in children:
        child.restart_at = None
        child.send(signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    for child in children:
        if child.process is None:
            continue
        try:
            child.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait(5)
