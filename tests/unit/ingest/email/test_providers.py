"""Inbound-mail providers: each webhook format gives the event SMTP gives for the same mail.

`postmark_inbound.json` is the example JSON of Postmark's "Inbound webhook" documentation
(postmarkapp.com/developer/webhooks/inbound-webhook). SendGrid and Mailgun document their
fields in tables (SendGrid "Setting up the Inbound Parse Webhook", default and raw
parameters; Mailgun "Receiving messages via HTTP through a forward() action"): their fields
here are those documented fields, filled from the golden `plain.eml` and `outbound.eml`.
"""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from ingest.email import providers
from ingest.email.mapping import map_email
from schemas import CanonicalEvent, InvalidEvent
from schemas.events import decode_event

SAMPLES = Path(__file__).with_name("samples")
RECEIVED = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
DOMAINS = ("shop.io",)
#: What an agent sees and what identifies the mail: the same whichever way it came.
SAME = ("event_id", "channel", "kind", "occurred_at", "identifiers", "summary")
SAME_ATTRS = ("subject", "from", "from_name", "to", "message_id", "thread_id", "excerpt")


def mapped(raw: bytes, source: str = "smtp") -> list[CanonicalEvent]:
    events = map_email(raw, RECEIVED, company_domains=DOMAINS, source=source)
    for event in events:
        assert decode_event(event.to_json()) == event
    return events


def header_block(raw: bytes) -> str:
    return raw.decode().replace("\r\n", "\n").split("\n\n", 1)[0]


def body_text(raw: bytes) -> str:
    return raw.decode().replace("\r\n", "\n").split("\n\n", 1)[1]


def assert_same(got: CanonicalEvent, want: CanonicalEvent) -> None:
    for name in SAME:
        assert getattr(got, name) == getattr(want, name), name
    for name in SAME_ATTRS:
        assert got.attributes.get(name) == want.attributes.get(name), name
    assert got.attributes.get("traits") == want.attributes.get("traits")


@pytest.mark.parametrize("sample", ["plain", "outbound"])
def test_every_provider_gives_the_smtp_event(sample: str) -> None:
    raw = (SAMPLES / f"{sample}.eml").read_bytes()
    want = mapped(raw)
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    sendgrid_raw = providers.sendgrid({"email": raw.decode(), "to": "support@shop.io"}, [])
    sendgrid_parsed = providers.sendgrid(
        {
            "headers": header_block(raw),
            "text": body_text(raw),
            "from": str(msg["From"]),
            "to": str(msg["To"]),
            "subject": str(msg["Subject"]),
            "envelope": orjson.dumps({"to": ["support@shop.io"], "from": "x@y.org"}).decode(),
            "charsets": '{"to":"UTF-8","html":"UTF-8","subject":"UTF-8","from":"UTF-8"}',
            "SPF": "pass",
        },
        [],
    )
    headers = [[k, str(v)] for k, v in msg.items()]
    mailgun_parsed = providers.mailgun(
        {
            "recipient": "support@shop.io",
            "sender": "bounce@example.org",
            "from": str(msg["From"]),
            "subject": str(msg["Subject"]),
            "body-plain": body_text(raw),
            "stripped-text": body_text(raw).split("\n\n")[0],
            "message-headers": orjson.dumps(headers).decode(),
            "timestamp": "1762179243",
            "token": "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0",
            "signature": "unchecked-here",
        },
        [],
    )
    mailgun_mime = providers.mailgun({"body-mime": raw.decode()}, [])
    for rebuilt, source in (
        (sendgrid_raw, "sendgrid"),
        (sendgrid_parsed, "sendgrid"),
        (mailgun_parsed, "mailgun"),
        (mailgun_mime, "mailgun"),
    ):
        got = mapped(rebuilt, source)
        assert len(got) == len(want) and all(e.source == source for e in got)
        for g, w in zip(got, want, strict=True):
            assert_same(g, w)


def test_postmark_golden() -> None:
    body = orjson.loads((SAMPLES / "postmark_inbound.json").read_bytes())
    [event] = mapped(providers.postmark(body), "postmark")
    assert (event.kind, event.source) == ("email_received", "postmark")
    assert [(i.type, i.value) for i in event.identifiers] == [("email", "support@postmarkapp.com")]
    assert event.summary == "Email: Test subject"
    attrs = event.attributes
    assert attrs["to"] == ["yourhash+samplehash@inbound.postmarkapp.com"]
    assert attrs["cc"] == ["firstcc@postmarkapp.com", "secondcc@postmarkapp.com"]
    assert attrs["excerpt"] == "This is a test text body."
    assert attrs["attachment_names"] == ["test.txt"]
    assert attrs["traits"] == {
        "name": "Postmarkapp Support",
        "first_name": "Postmarkapp",
        "last_name": "Support",
    }
    # No Message-ID header in the example: the id is a hash of the content, the same on
    # every delivery of the same webhook.
    assert event.event_id.startswith("smtp:content:")
    assert mapped(providers.postmark(body), "postmark")[0].event_id == event.event_id


def test_postmark_raw_email_is_used_as_it_is() -> None:
    raw = (SAMPLES / "plain.eml").read_bytes()
    [event] = mapped(providers.postmark({"RawEmail": raw.decode(), "From": "x@y.org"}))
    assert event.event_id == "smtp:CAB7x9QK2mPz1@mail.example.org"


def test_attachments_are_named_never_kept() -> None:
    raw = providers.mailgun(
        {"from": "maria@example.org", "subject": "Photos", "body-plain": "see attached"},
        ["broken-mug.jpg", "receipt.pdf"],
    )
    [event] = mapped(raw)
    assert event.attributes["attachment_names"] == ["broken-mug.jpg", "receipt.pdf"]
    assert b"broken-mug" in raw and len(raw) < 2000


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        (lambda: providers.sendgrid({"text": "hi"}, []), "headers: is required"),
        (lambda: providers.mailgun({"message-headers": "{"}, []), "message-headers: is not"),
        (lambda: providers.postmark([]), "body: must be a JSON object"),
        (lambda: providers.postmark({"Subject": "x"}), "From: is required"),
        (
            lambda: providers.postmark({"From": "a@b.org", "Headers": "X-Spam: no"}),
            "Headers: must be",
        ),
    ],
)
def test_malformed_provider_payloads_name_the_field(call: Any, reason: str) -> None:
    with pytest.raises(InvalidEvent, match=f"^{reason}"):
        call()


def test_ten_thousand_recipients_are_trimmed_not_refused() -> None:
    recipients = ", ".join(f"customer{i}@example.net" for i in range(10_000))
    raw = providers.mailgun(
        {"from": "maria@example.org", "subject": "Neighbours", "body-plain": "hello"}, []
    )
    raw = raw.replace(b"Subject:", f"To: {recipients}\r\nSubject:".encode(), 1)
    assert len(raw) > 250_000
    [event] = mapped(raw)
    assert len(event.attributes["to"]) == 50 and event.attributes["to_count"] == 10_000
    assert len(event.to_json()) < 8_000
