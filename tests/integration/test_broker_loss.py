"""A broker that loses its state under a running gateway and SMTP listener.

Tansu keeps records in memory and hands out producer id 1 again after a restart, so an
idempotent producer that outlived the old broker gets DUPLICATE_SEQUENCE_NUMBER for new
records, which kafka-python reports as success with offset -1: nothing stored. Here the
gateway and the SMTP listener run as real processes (`threadline ingest`, `threadline smtp`),
the broker is killed with SIGKILL and a new empty one starts on the same port while requests
keep coming. Every request acknowledged (2xx, SMTP 250) must be on the new broker's topic,
and publishing must recover without anyone restarting anything.
"""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import orjson
import pytest

from services.embedded import EmbeddedBroker, free_port, port_open
from services.kafka_admin import ensure_topics
from tests.support.gateway import interactions_consumer, partitions

pytestmark = pytest.mark.integration

KEY = "broker-loss-key"
DOMAIN = "shop.io"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    b = EmbeddedBroker(port=free_port(), log_path=tmp_path / "tansu.log")
    b.start()
    ensure_topics(b.bootstrap, partitions=2)
    yield b
    b.stop()


def _start(role: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "services.cli", role], env=env, stdout=out, stderr=out
        )


@pytest.fixture
def publishers(broker: EmbeddedBroker, tmp_path: Path) -> Iterator[dict[str, int]]:
    ports = {"ingest": free_port(), "smtp": free_port(), "smtp_metrics": free_port()}
    env = {
        **os.environ,
        "THREADLINE_KAFKA_BOOTSTRAP": broker.bootstrap,
        "THREADLINE_WRITE_KEYS": KEY,
        "THREADLINE_COMPANY_DOMAINS": DOMAIN,
        "THREADLINE_PUBLISH_TIMEOUT_S": "3",
        "THREADLINE_INGEST_PORT": str(ports["ingest"]),
        "THREADLINE_SMTP_PORT": str(ports["smtp"]),
        "THREADLINE_SMTP_METRICS_PORT": str(ports["smtp_metrics"]),
        "THREADLINE_LOG_JSON": "true",
    }
    procs = [_start(role, env, tmp_path / f"{role}.log") for role in ("ingest", "smtp")]
    try:
        deadline = time.monotonic() + 60
        while not (_ready(ports["ingest"]) and port_open("127.0.0.1", ports["smtp"])):
            assert time.monotonic() < deadline, "gateway or SMTP listener did not start"
            assert all(p.poll() is None for p in procs), "a publisher exited during start"
            time.sleep(0.2)
        yield ports
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


def _send_http(port: int, tag: str) -> set[str]:
    """Post one batch of three events; the event ids if acknowledged, else empty."""
    batch = [
        {"type": "track", "event": "Loss", "anonymousId": f"loss-{tag}", "messageId": f"{tag}-{i}"}
        for i in range(3)
    ]
    try:
        r = httpx.post(
            f"http://127.0.0.1:{port}/v1/batch",
            content=orjson.dumps({"batch": batch}),
            headers={"Content-Type": "application/json"},
            auth=(KEY, ""),
            timeout=15,
        )
    except httpx.HTTPError:
        return set()
    if r.status_code == 200:
        return {f"segment:{m['messageId']}" for m in batch}
    assert r.status_code == 503, r.text  # refused while the broker is away: never a 500
    return set()


def _send_mail(port: int, tag: str) -> set[str]:
    """One SMTP session; the event id if the listener answered 250, else empty."""
    msg = EmailMessage()
    msg["From"] = f"{tag}@example.org"
    msg["To"] = f"help@{DOMAIN}"
    msg["Subject"] = f"Loss {tag}"
    msg["Message-ID"] = f"<{tag}@example.org>"
    msg.set_content("Hello")
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=15) as client:
            client.send_message(msg)
    except smtplib.SMTPResponseException as exc:
        assert exc.smtp_code == 451, exc  # try again later, never a permanent refusal
        return set()
    except (smtplib.SMTPException, OSError):
        return set()
    return {f"smtp:{tag}@example.org"}


def _stored_event_ids(bootstrap: str) -> set[str]:
    found: set[str] = set()
    with interactions_consumer(bootstrap) as consumer:
        tps = partitions(consumer)
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        idle = 0
        while idle < 5:
            batch = consumer.poll(timeout_ms=300)
            idle = 0 if batch else idle + 1
            for records in batch.values():
                found.update(orjson.loads(r.value)["event_id"] for r in records)
    return found


def test_nothing_acknowledged_is_lost_and_publishing_recovers(
    broker: EmbeddedBroker, publishers: dict[str, int]
) -> None:
    run = uuid.uuid4().hex[:8]
    assert _send_http(publishers["ingest"], f"{run}-before")
    assert _send_mail(publishers["smtp"], f"{run}-before")

    assert broker.process is not None
    broker.process.kill()  # the broker and everything it held are gone
    broker.process.wait()
    broker.start()  # a new, empty broker on the same port
    ensure_topics(broker.bootstrap, partitions=2)

    acked: set[str] = set()
    refused = 0
    deadline = time.monotonic() + 90
    streak = 0
    n = 0
    # Keep sending until both publishers have acknowledged three requests in a row.
    while streak < 3:
        assert time.monotonic() < deadline, "publishing did not recover by itself"
        n += 1
        got = _send_http(publishers["ingest"], f"{run}-h{n}") | _send_mail(
            publishers["smtp"], f"{run}-m{n}"
        )
        acked |= got
        streak = streak + 1 if len(got) == 4 else 0
        refused += len(got) < 4
    assert _ready(publishers["ingest"])

    stored = _stored_event_ids(broker.bootstrap)
    missing = acked - stored
    assert not missing, f"{len(missing)} acknowledged events are not on the new broker"
    print(f"broker loss: {n} rounds, {refused} with a refusal, {len(acked)} events acknowledged")
