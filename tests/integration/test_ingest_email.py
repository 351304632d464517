"""The email adapter against the real embedded broker: HTTP inbound and a real SMTP session."""

from __future__ import annotations

import asyncio
import smtplib
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from kafka import KafkaConsumer

from ingest.email.smtp import serve
from ingest.settings import IngestSettings
from schemas.events import decode_event
from services.embedded import free_port
from tests.support.gateway import end_offsets, interactions_consumer, read_since, running_gateway

pytestmark = pytest.mark.integration

SAMPLES = Path(__file__).resolve().parent.parent / "unit" / "ingest" / "email" / "samples"
KEY = "integration-email-key"
SMTP_MAX = 16 * 1024


def unique(name: str) -> tuple[bytes, str, str]:
    """A sample with a fresh Message-ID and sender (the topic is shared by the session)."""
    data = (SAMPLES / f"{name}.eml").read_bytes()
    tag = uuid.uuid4().hex[:12]
    sender = f"maria.{tag}@example.org"
    data = data.replace(b"CAB7x9QK2mPz1@mail.example.org", f"{tag}@mail.example.org".encode())
    data = data.replace(b"Maria.Lopez@Example.org", sender.encode())
    return data, sender, f"{tag}@mail.example.org"


@pytest.fixture(scope="module")
def gateway_url(kafka_bootstrap: str) -> Iterator[str]:
    """A real uvicorn gateway on a free loopback port, publishing to the embedded broker."""
    settings = IngestSettings(
        port=free_port(), kafka_bootstrap=kafka_bootstrap, write_keys=KEY, company_domains="shop.io"
    )
    with running_gateway(settings) as url:
        yield url


def run_listener(kafka_bootstrap: str, **overrides: Any) -> Iterator[int]:
    """`ingest.email.smtp.serve` in a thread with its own loop; yields its port, then stops."""
    settings = IngestSettings(
        **{
            "smtp_port": free_port(),
            "smtp_metrics_port": free_port(),
            "kafka_bootstrap": kafka_bootstrap,
            "write_keys": KEY,
            "company_domains": "shop.io",
            "email_max_bytes": SMTP_MAX,
            **overrides,
        }
    )
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=loop.run_until_complete, args=(serve(settings, stop),))
    thread.start()
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", settings.smtp_port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline and thread.is_alive(), "listener did not start"
            time.sleep(0.05)
    yield settings.smtp_port
    loop.call_soon_threadsafe(stop.set)
    thread.join(20)
    loop.close()


@pytest.fixture(scope="module")
def smtp_port(kafka_bootstrap: str) -> Iterator[int]:
    yield from run_listener(kafka_bootstrap)


@pytest.fixture(scope="module")
def consumer(kafka_bootstrap: str) -> Iterator[KafkaConsumer]:
    with interactions_consumer(kafka_bootstrap) as c:
        yield c


def test_http_inbound_is_on_the_topic(gateway_url: str, consumer: KafkaConsumer) -> None:
    data, sender, message_id = unique("plain")
    start = end_offsets(consumer)
    r = httpx.post(
        f"{gateway_url}/email/inbound",
        content=data,
        headers={"Content-Type": "message/rfc822", "Authorization": f"Bearer {KEY}"},
        timeout=15,
    )
    assert r.status_code == 202, r.text
    [record] = read_since(consumer, start, {f"email:{sender}".encode()}, 1)
    event = decode_event(record.value)
    assert (event.event_id, event.kind, event.source) == (
        f"smtp:{message_id}",
        "email_received",
        "email-http",
    )
    assert event.summary == "Email: Collection time for order W-5001"
    assert dict(record.headers)["ce_type"] == b"dev.threadline.email.email_received"


def test_smtp_session_is_on_the_topic(smtp_port: int, consumer: KafkaConsumer) -> None:
    data, sender, message_id = unique("plain")
    start = end_offsets(consumer)
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=15) as client:
        refused = client.sendmail(sender, ["support@shop.io"], data)
    assert refused == {}
    [record] = read_since(consumer, start, {f"email:{sender}".encode()}, 1)
    event = decode_event(record.value)
    assert (event.event_id, event.source) == (f"smtp:{message_id}", "smtp")
    assert event.attributes["excerpt"].startswith("Hello, I ordered W-5001")


def test_smtp_outbound_copy_reaches_each_customer(smtp_port: int, consumer: KafkaConsumer) -> None:
    tag = uuid.uuid4().hex[:12]
    customer = f"cust.{tag}@example.net"
    data = (SAMPLES / "outbound.eml").read_bytes()
    data = data.replace(b"reply-7788@shop.io", f"{tag}@shop.io".encode())
    data = data.replace(b"tom.reed@example.net", customer.encode())
    start = end_offsets(consumer)
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=15) as client:
        client.sendmail("sam.carter@shop.io", ["journal@shop.io"], data)
    [record] = read_since(consumer, start, {f"email:{customer}".encode()}, 1)
    assert decode_event(record.value).kind == "email_sent"


def test_smtp_refuses_relaying(smtp_port: int) -> None:
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=15) as client:
        client.ehlo()
        assert client.mail("someone@example.org")[0] == 250
        code, reply = client.rcpt("victim@example.com")
    assert (code, reply) == (550, b"5.7.1 Relaying denied")


def test_smtp_refuses_oversized_messages(smtp_port: int) -> None:
    data, sender, _ = unique("plain")
    big = data + (b"y" * 76 + b"\r\n") * (SMTP_MAX // 78 + 10)
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=15) as client:
        # Declared size (ESMTP SIZE, which smtplib sends): refused at MAIL FROM.
        with pytest.raises(smtplib.SMTPSenderRefused) as err:
            client.sendmail(sender, ["support@shop.io"], big)
        assert err.value.smtp_code == 552
        client.rset()
        # Undeclared: refused after DATA.
        client.mail(sender)
        client.rcpt("support@shop.io")
        code, _ = client.data(big)
    assert code == 552


def test_smtp_bad_message_is_refused_permanently(smtp_port: int) -> None:
    with (
        smtplib.SMTP("127.0.0.1", smtp_port, timeout=15) as client,
        pytest.raises(smtplib.SMTPDataError) as err,
    ):
        client.sendmail("x@example.org", ["support@shop.io"], b"Subject: no sender\r\n\r\nx")
    assert err.value.args == (550, b"5.6.0 From: has no valid email address")


def test_smtp_probes_report_readiness_and_count_by_channel_source_and_reason(
    kafka_bootstrap: str,
) -> None:
    metrics_port = free_port()
    listener = run_listener(kafka_bootstrap, smtp_metrics_port=metrics_port)
    port = next(listener)
    probes = f"http://127.0.0.1:{metrics_port}"
    try:
        assert httpx.get(f"{probes}/healthz", timeout=5).status_code == 200
        ready = httpx.get(f"{probes}/readyz", timeout=10)
        assert (ready.status_code, ready.json()["checks"]) == (200, {"kafka": "ok"})
        data, sender, _ = unique("plain")
        with smtplib.SMTP("127.0.0.1", port, timeout=15) as client:
            assert client.sendmail(sender, ["support@shop.io"], data) == {}
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                client.sendmail(sender, ["someone@elsewhere.example"], data)
        text = httpx.get(f"{probes}/metrics", timeout=5).text
        assert 'threadline_ingest_events_accepted_total{channel="email",source="smtp"} 1.0' in text
        assert 'threadline_ingest_rejects_total{code="relaying_denied"} 1.0' in text
        assert sender not in text
    finally:
        next(listener, None)


def test_smtp_probes_not_ready_while_the_broker_is_down() -> None:
    metrics_port = free_port()
    listener = run_listener(f"127.0.0.1:{free_port()}", smtp_metrics_port=metrics_port)
    next(listener)
    try:
        ready = httpx.get(f"http://127.0.0.1:{metrics_port}/readyz", timeout=15)
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"kafka": "down"}
    finally:
        next(listener, None)


def test_smtp_broker_down_is_a_temporary_failure() -> None:
    listener = run_listener(f"127.0.0.1:{free_port()}", publish_timeout_s=1)
    port = next(listener)
    try:
        data, sender, _ = unique("plain")
        with (
            smtplib.SMTP("127.0.0.1", port, timeout=15) as client,
            pytest.raises(smtplib.SMTPDataError) as err,
        ):
            client.sendmail(sender, ["support@shop.io"], data)
        assert (err.value.args[0], err.value.args[1][:6]) == (451, b"4.3.0 ")
    finally:
        next(listener, None)
