"""Integration fixtures: an async engine on the emptied session database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from profile_store.db import make_async_engine
from tests.support.worker import StartWorker, worker_starter


@pytest.fixture
async def engine(clean_db: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a database emptied for the test (modules may override it)."""
    eng = make_async_engine(clean_db, pool_size=2)
    yield eng
    await eng.dispose()


@pytest.fixture
def start_worker(kafka_bootstrap: str, clean_db: str, tmp_path: Path) -> Iterator[StartWorker]:
    """Start worker processes on the session broker (or another) and the emptied database."""
    with worker_starter(kafka_bootstrap, clean_db, tmp_path) as start:
        yield start
