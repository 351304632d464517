"""Session fixtures: a real embedded broker and a real PostgreSQL (embedded, or the server in
THREADLINE_TEST_DATABASE_URL), each started once per test session."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from profile_store.storage import migrate
from profile_store.storage.engines import make_async_engine, make_sync_engine
from profile_store.storage.tables import metadata
from services.embedded import (
    EmbeddedBroker,
    EmbeddedPostgres,
    create_database,
    drop_database,
    free_port,
    with_database,
)
from services.kafka_admin import ensure_topics
from tests.support.worker import Workers

# Code under test that is not a process of its own logs through structlog's defaults, whose
# console renderer draws tracebacks with rich (seconds per logged exception): plain ones here.
structlog.configure(
    processors=[
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.StackInfoRenderer(),
        structlog.dev.set_exc_info,
        structlog.processors.TimeStamper(fmt="%Y-%m-%d %H:%M:%S", utc=False),
        structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        ),
    ]
)

ARTIFACTS = Path(__file__).resolve().parent.parent / "build" / "test-artifacts"
TEST_PARTITIONS = 4


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Tansu broker on a free loopback port with the Threadline topics created."""
    log = tmp_path_factory.mktemp("broker") / "tansu.log"
    broker = EmbeddedBroker(port=free_port(), log_path=log)
    bootstrap = broker.start()
    ensure_topics(bootstrap, partitions=TEST_PARTITIONS)
    yield bootstrap
    broker.stop()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, migrated database for this session; dropped at the end."""
    name = f"threadline_test_{uuid.uuid4().hex[:10]}"
    external = os.environ.get("THREADLINE_TEST_DATABASE_URL")
    embedded: EmbeddedPostgres | None = None
    if external:
        admin_url = external
    else:
        embedded = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data")
        admin_url = with_database(embedded.start(database="postgres"), "postgres")
    create_database(admin_url, name)
    url = with_database(admin_url, name)
    migrate.upgrade(url)
    yield url
    drop_database(admin_url, name)
    if embedded is not None:
        embedded.stop()


@pytest.fixture
def clean_db(database_url: str) -> Iterator[str]:
    """The session database, emptied before the test."""
    engine = make_sync_engine(database_url)
    names = ", ".join(t.name for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
    yield database_url


@pytest.fixture
async def engine(clean_db: str) -> AsyncIterator[AsyncEngine]:
    """An async engine on the emptied session database (modules may define their own)."""
    eng = make_async_engine(clean_db, pool_size=2)
    yield eng
    await eng.dispose()


@pytest.fixture
def workers(kafka_bootstrap: str, clean_db: str, tmp_path: Path) -> Iterator[Workers]:
    """Start `threadline worker` processes on the session broker and the emptied database."""
    pool = Workers(kafka_bootstrap, clean_db, tmp_path)
    yield pool
    pool.stop_all()
