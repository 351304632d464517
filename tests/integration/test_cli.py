"""The `threadline` command line as operators run it."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid

import orjson
import pytest
from alembic.script import ScriptDirectory
from kafka import KafkaAdminClient

from profile_store import migrate
from services.embedded import create_database, drop_database, with_database

pytestmark = pytest.mark.integration


def threadline(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_migrate_upgrades_a_new_database_and_creates_topics(
    database_url: str, kafka_bootstrap: str
) -> None:
    name = f"threadline_cli_{uuid.uuid4().hex[:8]}"
    admin = with_database(database_url, "postgres")
    create_database(admin, name)
    try:
        url = with_database(database_url, name)
        env = {"THREADLINE_DATABASE_URL": url, "THREADLINE_KAFKA_BOOTSTRAP": kafka_bootstrap}
        first = threadline("migrate", env=env)
        again = threadline("migrate", env=env)
        assert first.returncode == 0, first.stderr
        assert again.returncode == 0, again.stderr
        head = ScriptDirectory.from_config(migrate.alembic_config(url)).get_current_head()
        assert migrate.current_revision(url) == head
        assert "topics created: none (all present)" in again.stdout
    finally:
        drop_database(admin, name)
    client = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        assert {"threadline.interactions", "threadline.deadletter"} <= set(client.list_topics())
    finally:
        client.close()


def test_hash_key_prints_a_config_entry_the_api_accepts() -> None:
    out = threadline("hash-key", "--role", "admin", "--name", "ops", "--key", "s3cret")
    entry = orjson.loads(out.stdout.strip().splitlines()[-1])
    assert entry == {
        "name": "ops",
        "role": "admin",
        "sha256": hashlib.sha256(b"s3cret").hexdigest(),
    }
    fresh = threadline("hash-key")
    assert fresh.stdout.startswith("key (give to the client")


def test_bad_configuration_exits_2_naming_the_variable() -> None:
    out = threadline("worker", env={"THREADLINE_DATABASE_URL": "", "THREADLINE_BATCH_SIZE": "0"})
    assert out.returncode == 2
    assert "THREADLINE_BATCH_SIZE" in out.stderr or "THREADLINE_DATABASE_URL" in out.stderr
