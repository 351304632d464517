"""Dev stack only: the supervisor pauses publishing while it replaces the embedded broker.

`threadline dev` recycles its memory-only broker once it holds too much (the broker keeps
every record it was ever sent). It sends SIGUSR1: this process stops publishing, waits
until nothing is in flight and writes `<role>.held` in the control folder; SIGUSR2 lets
requests through again on a fresh producer. Requests that arrive in between wait; they
are not refused. Installed only when `THREADLINE_DEV_CONTROL_DIR` is set (dev mode).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

import structlog

from ingest.publisher import KafkaPublisher

log = structlog.get_logger()


def held_marker(control_dir: Path, role: str) -> Path:
    """The file a held process writes (its content: the process id)."""
    return control_dir / f"{role}.held"


def install_dev_control(publisher: KafkaPublisher, control_dir: Path, role: str) -> None:
    """Answer SIGUSR1 (hold) and SIGUSR2 (resume) on the running loop."""
    loop = asyncio.get_running_loop()
    marker = held_marker(control_dir, role)
    tasks: set[asyncio.Task[None]] = set()

    async def hold() -> None:
        await publisher.hold()
        if publisher.held:
            marker.write_text(str(os.getpid()))

    def on_hold() -> None:
        task = loop.create_task(hold())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def on_resume() -> None:
        with contextlib.suppress(FileNotFoundError):
            marker.unlink()
        publisher.resume()

    loop.add_signal_handler(signal.SIGUSR1, on_hold)
    loop.add_signal_handler(signal.SIGUSR2, on_resume)
    log.info("dev_control_installed", role=role)
