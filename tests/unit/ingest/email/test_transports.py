"""The email transports in-process: `POST /email/inbound` and the SMTP handler's hooks."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.smtp import Envelope, Session

from ingest.email import smtp
from ingest.email.smtp import EmailHandler
from ingest.publisher import PublishError
from ingest.settings import IngestSettings
from tests.support.ingest_app import Factory, gateway_factory
from tests.unit.ingest.test_app import RecordingPublisher

SAMPLES = Path(__file__).with_name("samples")
PLAIN = (SAMPLES / "plain.eml").read_bytes()
KEY = "email-test-key"
MIME = {"Content-Type": "message/rfc822"}
BEARER = {**MIME, "Authorization": f"Bearer {KEY}"}


@pytest.fixture
def gateway(publisher: RecordingPublisher) -> Factory:
    return gateway_factory(publisher, write_keys=KEY, company_domains="shop.io")


def error_of(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


async def test_inbound_publishes_and_answers_202(
    gateway: Factory, publisher: RecordingPublisher
) -> None:
    async with gateway() as c:
        r = await c.post("/email/inbound", content=PLAIN, headers=BEARER)
    assert r.status_code == 202
    assert r.json() == {"accepted": 1, "event_ids": ["smtp:CAB7x9QK2mPz1@mail.example.org"]}
    [event] = publisher.events
    assert (event.kind, event.source) == ("email_received", "email-http")


async def test_inbound_accepts_the_basic_user_and_sent_mail(
    gateway: Factory, publisher: RecordingPublisher
) -> None:
    auth = "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()
    async with gateway() as c:
        r = await c.post(
            "/email/inbound",
            content=(SAMPLES / "outbound.eml").read_bytes(),
            headers={**MIME, "Authorization": auth},
        )
    assert r.status_code == 202 and r.json()["accepted"] == 2
    assert [e.kind for e in publisher.events] == ["email_sent", "email_sent"]


@pytest.mark.parametrize(
    "headers",
    [MIME, {**MIME, "Authorization": "Bearer wrong"}, {**MIME, "Authorization": "Basic !!"}],
)
async def test_inbound_needs_a_write_key(
    gateway: Factory, publisher: RecordingPublisher, headers: dict[str, str]
) -> None:
    async with gateway() as c:
        r = await c.post("/email/inbound", content=PLAIN, headers=headers)
    assert error_of(r) == (401, "unauthorized")
    assert publisher.events == []


async def test_inbound_refuses_other_content_types(
    gateway: Factory, publisher: RecordingPublisher
) -> None:
    async with gateway() as c:
        r = await c.post(
            "/email/inbound",
            content=PLAIN,
            headers={**BEARER, "Content-Type": "application/json"},
        )
    assert error_of(r) == (415, "unsupported_media_type")
    assert publisher.events == []


async def test_inbound_caps_the_body(gateway: Factory, publisher: RecordingPublisher) -> None:
    async with gateway(email_max_bytes=2048) as c:
        r = await c.post("/email/inbound", content=PLAIN + b"x" * 2048, headers=BEARER)
    assert error_of(r) == (413, "payload_too_large")
    assert publisher.events == []


async def test_inbound_bad_message_is_400_naming_the_header(
    gateway: Factory, publisher: RecordingPublisher
) -> None:
    async with gateway() as c:
        r = await c.post("/email/inbound", content=b"To: a@shop.io\r\n\r\nhi", headers=BEARER)
    assert error_of(r) == (400, "invalid_event")
    assert r.json()["error"]["message"].startswith("From:")
    assert publisher.events == []


async def test_inbound_broker_down_is_503(gateway: Factory, publisher: RecordingPublisher) -> None:
    publisher.failure = PublishError("down")
    async with gateway() as c:
        r = await c.post("/email/inbound", content=PLAIN, headers=BEARER)
    assert error_of(r) == (503, "broker_unavailable")


def handler(publisher: RecordingPublisher, **kwargs: Any) -> EmailHandler:
    return EmailHandler(publisher, **{"company_domains": ("shop.io",), **kwargs})


async def rcpt(h: EmailHandler, address: str) -> tuple[str, list[str]]:
    envelope = Envelope()
    reply = await h.handle_RCPT(None, Session(None), envelope, address, [])  # type: ignore[arg-type]
    return reply, envelope.rcpt_tos


async def data(h: EmailHandler, content: bytes) -> str:
    envelope = Envelope()
    envelope.original_content = envelope.content = content
    return await h.handle_DATA(None, Session(None), envelope)  # type: ignore[arg-type]


async def test_smtp_rcpt_accepts_company_domains_only(publisher: RecordingPublisher) -> None:
    h = handler(publisher)
    assert await rcpt(h, "support@shop.io") == ("250 OK", ["support@shop.io"])
    assert await rcpt(h, "archive@mail.SHOP.io") == ("250 OK", ["archive@mail.SHOP.io"])
    assert await rcpt(h, "victim@example.com") == ("550 5.7.1 Relaying denied", [])
    assert await rcpt(h, "postmaster") == ("550 5.7.1 Relaying denied", [])


async def test_smtp_without_company_domains(publisher: RecordingPublisher) -> None:
    closed = handler(publisher, company_domains=())
    assert (await rcpt(closed, "a@shop.io"))[0] == "550 5.7.1 Relaying denied"
    dev = EmailHandler.from_settings(IngestSettings(dev_mode=True), publisher)
    assert (await rcpt(dev, "anyone@example.com"))[0] == "250 OK"
    configured = IngestSettings(dev_mode=True, company_domains="shop.io")
    assert (await rcpt(EmailHandler.from_settings(configured, publisher), "x@example.com"))[
        0
    ] == "550 5.7.1 Relaying denied"


async def test_smtp_data_publishes_before_250(publisher: RecordingPublisher) -> None:
    assert await data(handler(publisher), PLAIN) == "250 OK"
    [event] = publisher.events
    assert (event.source, event.event_id) == ("smtp", "smtp:CAB7x9QK2mPz1@mail.example.org")


async def test_smtp_bad_message_is_550_with_the_reason(publisher: RecordingPublisher) -> None:
    reply = await data(handler(publisher), b"Subject: \xff\r\n\r\nno sender")
    assert reply == "550 5.6.0 From: has no valid email address"
    assert publisher.events == []


async def test_smtp_broker_down_is_451(publisher: RecordingPublisher) -> None:
    publisher.failure = PublishError("down")
    assert (await data(handler(publisher), PLAIN)).startswith("451 4.3.0 ")


async def test_smtp_unexpected_error_is_temporary(publisher: RecordingPublisher) -> None:
    publisher.failure = RuntimeError("bug")
    h = handler(publisher)
    assert (await data(h, PLAIN)).startswith("451 4.3.0 ")
    assert h.in_flight == 0


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"THREADLINE_SMTP_PORT": "99999"}, "THREADLINE_SMTP_PORT"),
        ({"THREADLINE_WRITE_KEYS": "k"}, "THREADLINE_COMPANY_DOMAINS"),
    ],
)
def test_main_refuses_bad_configuration(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    needle: str,
) -> None:
    for name in ("THREADLINE_DEV_MODE", "THREADLINE_COMPANY_DOMAINS", "THREADLINE_WRITE_KEYS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exit_:
        smtp.main()
    assert exit_.value.code == 2
    assert needle in capsys.readouterr().err
