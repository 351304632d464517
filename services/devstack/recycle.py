"""Keeping the embedded broker's memory bounded, and recovering from a broker that crashed.

Tansu's memory engine never frees a record: no retention, no DeleteRecords (see
EMBEDDED-STACK.md), so its memory, and the CPU each fetch costs, grow with everything ever
sent. Once it holds more than `THREADLINE_BROKER_RECYCLE_MB`, the supervisor replaces it:

0. (at 80 % of the limit) a replacement worker starts and waits, set up, for a go;
1. the gateway and SMTP listener hold new publishes (requests wait; none is refused) and
   confirm that nothing is in flight;
2. the worker writes and commits everything the broker holds, then stops;
3. anything still uncommitted is saved to the spool (normally nothing);
4. a new, empty broker starts on the same port; the topics are created; the spool is
   published into it;
5. the replacement worker connects (a new group takes Tansu about 3 s to join) and the
   publishers resume on fresh producers.

Nothing acknowledged is lost at any step; writes pause for a few seconds.

A broker that exits on its own has lost what it held that the worker had not committed
(memory only): the supervisor says how much that was at its last measurement, starts a new
one, restarts the worker (its positions and the group's offsets died with the old broker)
and tells the publishers to take fresh producers.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Final

import structlog

from services.devstack.backlog import BacklogError
from services.devstack.children import Child
from services.devstack.handover import (
    drain,
    hold_publishers,
    replay,
    resume_publishers,
    spool_backlog,
)
from services.devstack.startup import http_ready
from services.kafka_admin import ensure_topics

if TYPE_CHECKING:
    from services.devstack.supervisor import DevStack

log = structlog.get_logger("threadline.dev")

RETRY_AFTER_FAILURE_S: Final = 60.0
#: Start the replacement worker once the broker holds this share of the limit.
STANDBY_AT: Final = 0.8
#: Publishes wait meanwhile, so the worker gets little time: what it has not written by then
#: is saved and published again into the new broker (writes are idempotent on `event_id`).
DRAIN_BOUND_S: Final = 3.0


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MiB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def check_memory(stack: DevStack) -> bool:
    """Measure the backlog and the broker's memory; recycle it when over the limit.
    Returns True if processes changed."""
    if stack.broker is None or stack.broker.pid is None:
        return False
    backlog = stack.open_backlog()
    if backlog is not None:
        try:
            stack.last_lag = backlog.lag()
        except Exception:
            stack.close_backlog()
    limit = stack.settings.broker_recycle_mb
    held = rss_mb(stack.broker.pid)
    if not limit or time.monotonic() < stack.recycle_not_before:
        return False
    if held >= STANDBY_AT * limit:
        prepare_standby(stack)
    if held < limit:
        return False
    if not http_ready(f"http://127.0.0.1:{stack.worker_port}/readyz"):
        # Not before the worker (a new one after the last recycle) consumes: it must get its
        # turn, or recycling would only ever move the backlog to the spool and back.
        return False
    return recycle_broker(stack, held)


def prepare_standby(stack: DevStack) -> Child:
    """A replacement worker started ahead of the recycle: its imports and setup take seconds,
    so it waits, ready, until the new broker is up (see `services.worker`)."""
    standby = stack.standby
    if standby is not None and standby[0].exited() is None:
        return standby[0]
    gate = stack.state.control_dir / f"worker-go-{time.monotonic_ns()}"
    child = stack.new_child("worker", start_gate=gate)
    child.start()
    stack.standby = (child, gate)
    return child


def recycle_broker(stack: DevStack, held_mb: float) -> bool:
    """Replace the broker with an empty one without losing anything (module docstring)."""
    assert stack.broker is not None
    began = time.monotonic()
    log.info("broker_recycle_started", rss_mb=round(held_mb))
    publishers = [stack.children[n] for n in ("ingest", "smtp") if n in stack.children]
    worker = stack.children["worker"]
    standby = prepare_standby(stack)
    assert stack.standby is not None
    gate = stack.standby[1]
    if not hold_publishers(publishers, stack.state.control_dir):
        resume_publishers(publishers)
        stack.recycle_not_before = time.monotonic() + RETRY_AFTER_FAILURE_S
        log.warning("broker_recycle_postponed", reason="publishers did not confirm the hold")
        return False
    saved = 0
    try:
        backlog = stack.open_backlog()
        left = drain(backlog, worker, DRAIN_BOUND_S) if backlog is not None else -1
        # Everything committed and nothing new can arrive: nothing is in flight to wait for.
        worker.stop(0.0 if left == 0 else 5.0)
        if left != 0 and backlog is not None:
            saved = spool_backlog(backlog, stack.state.spool_dir)
        stack.close_backlog()
        stack.broker.stop(1.0)
        stack.broker.start()
        ensure_topics(stack.bootstrap, stack.settings.partitions)
        replay(stack.state.spool_dir, stack.bootstrap)
    except (BacklogError, OSError) as exc:
        log.error("broker_recycle_failed", reason=str(exc))
        stack.recycle_not_before = time.monotonic() + RETRY_AFTER_FAILURE_S
    finally:
        if not stack.broker.alive():
            stack.broker.start()
            ensure_topics(stack.bootstrap, stack.settings.partitions)
        worker.stop(0.0)
        gate.touch()
        stack.children["worker"], stack.standby = standby, None
        resume_publishers(publishers)
    log.info(
        "broker_recycled",
        freed_mb=round(held_mb),
        saved_and_replayed=saved,
        paused_s=round(time.monotonic() - began, 2),
    )
    return True


def replace_crashed_broker(stack: DevStack) -> None:
    """A broker that exited on its own: start a new one and reconnect everything to it."""
    assert stack.broker is not None
    code = stack.broker.process.returncode if stack.broker.process is not None else None
    log.error(
        "broker_exited",
        code=code,
        lost_estimate=stack.last_lag,
        note="memory-only broker: what it held and the worker had not written is lost",
    )
    stack.close_backlog()
    stack.broker.start()
    ensure_topics(stack.bootstrap, stack.settings.partitions)
    replay(stack.state.spool_dir, stack.bootstrap)
    worker = stack.children.get("worker")
    if worker is not None:
        worker.stop(3.0)
        worker.start()
    resume_publishers([stack.children[n] for n in ("ingest", "smtp") if n in stack.children])
    stack.last_lag = 0
