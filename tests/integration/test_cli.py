"""The `threadline` command line as operators run it."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid

import orjson
import pytest
from kafka import KafkaAdminClient

from profile_store.storage import migrate
from services.embedded import create_database, drop_database, free_port, with_database

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
        assert migrate.current_revision(url) == migrate.head_revision()
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
    # The name is the agent's name, which screen pops are addressed to: an API key name.
    agent = threadline("hash-key", "--name", "desk-7", "--key", "k")
    assert orjson.loads(agent.stdout.strip())["name"] == "desk-7"
    spaced = threadline("hash-key", "--name", "Anna Smith")
    assert spaced.returncode == 2 and "--name" in spaced.stderr


def test_bad_configuration_exits_2_naming_the_variable() -> None:
    out = threadline("worker", env={"THREADLINE_DATABASE_URL": "", "THREADLINE_BATCH_SIZE": "0"})
    assert out.returncode == 2
    assert "THREADLINE_BATCH_SIZE" in out.stderr or "THREADLINE_DATABASE_URL" in out.stderr


def test_migrate_reports_a_database_that_never_comes_up_in_one_line() -> None:
    dead = f"postgresql://threadline:pw@127.0.0.1:{free_port()}/threadline"
    out = threadline(
        "migrate",
        env={"THREADLINE_DATABASE_URL": dead, "THREADLINE_STARTUP_TIMEOUT_S": "1"},
    )
    assert out.returncode == 3
    assert "threadline migrate: database not reachable after 1s" in out.stderr
    assert "Traceback" not in out.stderr and "pw@" not in out.stderr


def test_migrate_waits_for_a_broker_that_never_comes_up(database_url: str) -> None:
    out = threadline(
        "migrate",
        env={
            "THREADLINE_DATABASE_URL": database_url,
            "THREADLINE_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}",
            "THREADLINE_STARTUP_TIMEOUT_S": "1",
        },
    )
    assert out.returncode == 3
    assert "threadline migrate: kafka not reachable after 1s" in out.stderr


def test_insights_refresh_since_days_as_the_cronjob_runs_it(clean_db: str) -> None:
    env = {"THREADLINE_DATABASE_URL": clean_db}
    ran = threadline("insights", "refresh", "--since-days", "1", env=env)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("refreshed 0 customers")
    bad = threadline("insights", "refresh", "--since-days", "400", env=env)
    assert bad.returncode == 2 and "--since-days: must be 0 to 366" in bad.stderr
