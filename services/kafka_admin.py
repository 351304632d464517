"""Kafka topic provisioning (kafka-python admin client): idempotent, used by migrate/dev/tests."""

from __future__ import annotations

import contextlib
import time

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from schemas import topics


def ensure_topics(
    bootstrap: str,
    partitions: int,
    replication_factor: int = 1,
    names: tuple[str, ...] = topics.ALL_TOPICS,
    timeout: float = 30.0,
    client_options: dict[str, object] | None = None,
) -> list[str]:
    """Create the missing topics; returns the names created. Retries until `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=bootstrap.split(","),
                client_id="threadline-admin",
                request_timeout_ms=10_000,
                **(client_options or {}),
            )
            break
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    try:
        existing = set(admin.list_topics())
        missing = [n for n in names if n not in existing]
        if missing:
            new = [NewTopic(n, partitions, replication_factor) for n in missing]
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(new, validate_only=False)
        return missing
    finally:
        admin.close()
