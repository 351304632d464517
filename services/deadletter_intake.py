"""Dead letters other components published to `threadline.deadletter`, into the store.

The gateway refuses a bad record of a Firehose delivery without failing the good ones: it
publishes the record's original bytes and reason to the dead-letter topic (it may not
import `profile_store`). The worker stores those letters like its own; the letters the
worker itself publishes there (components `worker.*`) are stored already and skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import structlog

from schemas.deadletter import DeadLetter
from services import metrics
from services.pipeline import is_transient

log = structlog.get_logger("threadline.worker")

#: Components whose letters the worker stored before publishing them.
OWN_PREFIX = "worker."


def foreign_letters(values: Sequence[bytes | None]) -> list[DeadLetter]:
    """The letters of other components in a batch of dead-letter topic values."""
    letters = []
    for value in values:
        try:
            letter = DeadLetter.from_json(value or b"")
        except ValueError:
            log.warning("deadletter_record_unreadable", size=len(value or b""))
            continue
        if not letter.component.startswith(OWN_PREFIX):
            letters.append(letter)
    return letters


async def store_foreign_letters(
    values: Sequence[bytes | None],
    store: Callable[[Sequence[DeadLetter]], Awaitable[None]],
    max_backoff_s: float = 30.0,
) -> int:
    """Store other components' letters, retrying while the database is away; how many."""
    letters = foreign_letters(values)
    delay = 0.2
    while letters:
        try:
            await store(letters)
        except Exception as exc:
            if not is_transient(exc):
                log.error("deadletter_intake_failed", error=type(exc).__name__)
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_backoff_s)
            continue
        for letter in letters:
            metrics.DEAD_LETTERS.labels(letter.component).inc()
        break
    return len(letters)
