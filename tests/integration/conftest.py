"""Integration fixtures: worker processes on the session broker and database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.worker import StartWorker, worker_starter


@pytest.fixture
def start_worker(kafka_bootstrap: str, clean_db: str, tmp_path: Path) -> Iterator[StartWorker]:
    """Start worker processes on the session broker (or another) and the emptied database."""
    with worker_starter(kafka_bootstrap, clean_db, tmp_path) as start:
        yield start
