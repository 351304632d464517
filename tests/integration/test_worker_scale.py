"""Scale-out: two workers in one consumer group divide the topic's partitions between them."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from services.embedded import free_port
from tests.support.events import event
from tests.support.worker import counts, produce, wait_for, worker_env

pytestmark = pytest.mark.integration
_CONSUMED = re.compile(r"^threadline_worker_events_consumed_total (\S+)$", re.MULTILINE)


def consumed(port: int) -> float:
    """Records this worker took from Kafka, from its own Prometheus endpoint."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as resp:
            found = _CONSUMED.search(resp.read().decode())
    except OSError:
        return 0.0
    return float(found.group(1)) if found else 0.0


def test_two_workers_share_the_partitions_and_write_everything_once(
    kafka_bootstrap: str, clean_db: str, tmp_path: Path
) -> None:
    procs, ports = [], [free_port(), free_port()]
    sent = 0

    def send_round() -> None:
        # Many keys, so every one of the 4 partitions gets records.
        nonlocal sent
        batch = [event(f"sc-{sent + i}", ("user_id", f"sc-u{i % 97}")) for i in range(200)]
        produce(kafka_bootstrap, [(e.kafka_key(), e.to_json()) for e in batch])
        sent += len(batch)

    try:
        for n, port in enumerate(ports):
            env = worker_env(kafka_bootstrap, clean_db, "test-scale")
            env["THREADLINE_METRICS_PORT"] = str(port)
            log = open(tmp_path / f"worker-{n}.log", "wb")  # noqa: SIM115
            command = [sys.executable, "-m", "services.cli", "worker"]
            procs.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT))

        def both_working() -> bool:
            # Until the group has settled one worker may hold every partition: keep sending.
            assert all(p.poll() is None for p in procs), "a worker exited"
            send_round()
            time.sleep(0.75)
            return all(consumed(port) > 0 for port in ports)

        wait_for(both_working, timeout=90, what="both workers consuming")
        wait_for(lambda: counts(clean_db, "sc-")[0] == sent, timeout=120, what="all rows")
        assert counts(clean_db, "sc-") == (sent, 0)
        shares = [consumed(port) for port in ports]
        assert sum(shares) >= sent, f"records consumed {shares} do not cover the {sent} sent"
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
