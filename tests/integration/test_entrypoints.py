"""The container image's entry points start every role against the real broker and database.

Docker does not run here, so each role is started exactly as the image starts it: the
Dockerfile's ENTRYPOINT plus the role the chart passes as args, with the Dockerfile's ENV
(hosts moved to loopback: tests never listen beyond it). Each long-running role must become
ready on the port its Kubernetes probes use, then exit cleanly (status 0) on SIGTERM.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from services.embedded import free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
API_KEY = "entrypoint-test-key"
START_DEADLINE_S = 90


def image_entrypoint() -> list[str]:
    """The Dockerfile's ENTRYPOINT (exec form), its command resolved in this virtualenv."""
    match = re.search(r"^ENTRYPOINT\s+(\[.*\])\s*$", DOCKERFILE.read_text(), re.MULTILINE)
    assert match, "the Dockerfile has no exec-form ENTRYPOINT"
    command: list[str] = json.loads(match.group(1))
    found = shutil.which(command[0], path=str(Path(sys.executable).parent))
    assert found, f"{command[0]} is not installed in {Path(sys.executable).parent}"
    return [found, *command[1:]]


def image_env() -> dict[str, str]:
    """THREADLINE_* variables the Dockerfile sets, with every host moved to loopback."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    env = dict(re.findall(r"\b(THREADLINE_[A-Z_]+)=(\S+)", text))
    assert env, "the Dockerfile sets no THREADLINE_* variables"
    return {k: "127.0.0.1" if k.endswith("HOST") else v for k, v in env.items()}


def test_image_default_command_is_a_role() -> None:
    match = re.search(r"^CMD\s+(\[.*\])\s*$", DOCKERFILE.read_text(), re.MULTILINE)
    assert match and json.loads(match.group(1))[0] in {"api", "ingest", "smtp", "worker"}


@pytest.fixture
def role_env(clean_db: str, kafka_bootstrap: str) -> dict[str, str]:
    """Production-mode settings (no dev keys) pointing at the embedded broker and database."""
    keys = [
        {"name": "probe", "role": "agent", "sha256": hashlib.sha256(API_KEY.encode()).hexdigest()}
    ]
    return {
        **os.environ,
        **image_env(),
        "THREADLINE_DEV_MODE": "false",
        "THREADLINE_DATABASE_URL": clean_db,
        "THREADLINE_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "THREADLINE_API_KEYS": json.dumps(keys),
        "THREADLINE_WRITE_KEYS": "entrypoint-write-key",
        "THREADLINE_ERASURE_SALT": "entrypoint-erasure-salt",
        "THREADLINE_COMPANY_DOMAINS": "shop.io",
        "THREADLINE_CONSUMER_GROUP": f"entrypoint-{uuid.uuid4().hex[:8]}",
        "THREADLINE_PARTITIONS": "4",
        "THREADLINE_SESSION_TIMEOUT_S": "6",
        "THREADLINE_HEARTBEAT_INTERVAL_S": "1",
        "THREADLINE_REBALANCE_TIMEOUT_S": "6",
        "THREADLINE_LOG_JSON": "true",
    }


@contextmanager
def started(role: str, env: dict[str, str], cwd: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The role as the image runs it; `cwd` stands for its WORKDIR (/tmp, an emptyDir)."""
    proc = subprocess.Popen(
        [*image_entrypoint(), role],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def wait_ready(proc: subprocess.Popen[bytes], url: str) -> dict[str, object]:
    """Poll the readiness probe until it answers 200; fail if the process dies first."""
    deadline = time.monotonic() + START_DEADLINE_S
    while True:
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"exited {proc.returncode} before ready: {err.decode()[-2000:]}")
        try:
            answer = httpx.get(url, timeout=5)
            if answer.status_code == 200:
                body: dict[str, object] = answer.json()
                return body
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{url} never became ready"
        time.sleep(0.2)


def stop(proc: subprocess.Popen[bytes]) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err.decode()


def test_migrate_role_runs_to_completion(role_env: dict[str, str], tmp_path: Path) -> None:
    run = subprocess.run(
        [*image_entrypoint(), "migrate"],
        env=role_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "database at revision" in run.stdout


@pytest.mark.parametrize(
    ("role", "port_var", "probe_var"),
    [
        ("api", "THREADLINE_API_PORT", "THREADLINE_API_PORT"),
        ("ingest", "THREADLINE_INGEST_PORT", "THREADLINE_INGEST_PORT"),
        ("smtp", "THREADLINE_SMTP_PORT", "THREADLINE_SMTP_METRICS_PORT"),
        ("worker", "THREADLINE_METRICS_PORT", "THREADLINE_METRICS_PORT"),
    ],
)
def test_role_starts_ready_and_stops_cleanly_on_sigterm(
    role: str, port_var: str, probe_var: str, role_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**role_env, port_var: str(free_port())}
    if probe_var != port_var:
        env[probe_var] = str(free_port())
    probe = f"http://127.0.0.1:{env[probe_var]}"
    with started(role, env, tmp_path) as proc:
        ready = wait_ready(proc, f"{probe}/readyz")
        assert ready["status"] == "ready"
        assert httpx.get(f"{probe}/healthz", timeout=5).status_code == 200
        metrics = httpx.get(f"{probe}/metrics", timeout=5)
        assert metrics.status_code == 200 and "# TYPE" in metrics.text
        code, err = stop(proc)
    assert code == 0, err[-2000:]
    assert "Traceback" not in err, err[-2000:]
