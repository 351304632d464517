"""Startup that waits for its dependencies: the database and the Kafka bootstrap servers.

On Kubernetes the migration Job often starts while PostgreSQL or Kafka is still coming up;
waiting (bounded) turns that race into a short delay instead of a failed release, and a
dependency that never comes is reported in one clear line instead of a traceback.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog

from profile_store.storage.engines import database_answers
from runtime.probes import bootstrap_servers, tcp_reachable

log = structlog.get_logger("threadline.startup")
RETRY_INTERVAL_S = 1.0


class DependencyUnavailable(Exception):
    """A dependency did not answer within the startup timeout."""


def _kafka_answers(bootstrap: str) -> bool:
    return asyncio.run(tcp_reachable(bootstrap_servers(bootstrap), RETRY_INTERVAL_S * 2))


def _wait(name: str, check: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    attempt = 0
    while not check():
        attempt += 1
        if time.monotonic() >= deadline:
            raise DependencyUnavailable(f"{name} not reachable after {timeout_s:g}s")
        if attempt == 1:
            log.warning("waiting_for_dependency", dependency=name, timeout_s=timeout_s)
        time.sleep(RETRY_INTERVAL_S)


def wait_for_database(url: str, timeout_s: float) -> None:
    """Return once PostgreSQL answers `SELECT 1`; raise DependencyUnavailable after timeout."""
    _wait("database", lambda: database_answers(url), timeout_s)


def wait_for_kafka(bootstrap: str, timeout_s: float) -> None:
    """Return once a bootstrap server accepts TCP; raise DependencyUnavailable after timeout."""
    _wait("kafka", lambda: _kafka_answers(bootstrap), timeout_s)
