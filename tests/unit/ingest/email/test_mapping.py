"""The email mapping on golden .eml samples: headers, bodies, threads, direction, ids."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.email.mapping import content_digest, is_company_address, map_email
from ingest.email.text import excerpt, html_to_text
from schemas import CanonicalEvent, Channel, Identifier, InvalidEvent
from schemas.events import decode_event

SAMPLES = Path(__file__).with_name("samples")
RECEIVED = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
DOMAINS = ("shop.io",)


def raw(name: str) -> bytes:
    return (SAMPLES / f"{name}.eml").read_bytes()


def one(name: str, **kwargs: object) -> CanonicalEvent:
    events = map_email(raw(name), RECEIVED, company_domains=DOMAINS, **kwargs)  # type: ignore[arg-type]
    assert len(events) == 1
    event = events[0]
    assert decode_event(event.to_json()) == event  # valid on the wire
    return event


def test_plain_message() -> None:
    event = one("plain")
    assert event.event_id == "smtp:CAB7x9QK2mPz1@mail.example.org"
    assert (event.channel, event.kind, event.source) == (Channel.EMAIL, "email_received", "smtp")
    assert event.identifiers == (Identifier(type="email", value="maria.lopez@example.org"),)
    assert event.occurred_at == datetime(2025, 11, 3, 14, 14, 2, tzinfo=UTC)  # -0500 to UTC
    assert event.summary == "Email: Collection time for order W-5001"
    attrs = event.attributes
    assert attrs["subject"] == "Collection time for order W-5001"
    assert (attrs["from"], attrs["from_name"]) == ("maria.lopez@example.org", "Maria Lopez")
    assert attrs["to"] == ["support@shop.io"]
    assert "cc" not in attrs
    assert attrs["message_id"] == attrs["thread_id"] == "CAB7x9QK2mPz1@mail.example.org"
    assert attrs["excerpt"] == (
        "Hello, I ordered W-5001 for collection at the Market Street store. "
        "What time can I pick it up on Saturday? Thanks, Maria"
    )
    assert attrs["has_attachments"] is False
    assert "attachment_names" not in attrs


def test_multipart_alternative_prefers_the_plain_part() -> None:
    event = one("multipart_alternative")
    assert event.attributes["excerpt"] == "Can you gift wrap order W-5002? Plain part."
    assert event.attributes["cc"] == ["tom.reed@example.net"]
    # Only the sender identifies the customer: other recipients are other people.
    assert [i.value for i in event.identifiers] == ["maria.lopez@example.org"]
    assert event.occurred_at == datetime(2025, 11, 4, 17, 30, tzinfo=UTC)


def test_nested_multipart_html_only_with_attachment() -> None:
    attrs = one("html_only").attributes
    # Script, style, title and the quoted Gmail original are dropped, entities decoded.
    assert attrs["excerpt"] == "Hi team, I need a size M instead & a gift receipt."
    # The inline logo is part of the body; the PDF is an attachment (name only).
    assert attrs["has_attachments"] is True
    assert (attrs["attachment_count"], attrs["attachment_names"]) == (1, ["receipt.pdf"])
    assert "JVBERi" not in str(attrs)


def test_quoted_printable_utf8_body_and_encoded_display_name() -> None:
    attrs = one("quoted_printable").attributes
    assert attrs["from_name"] == "Jürgen Müller"
    assert attrs["excerpt"].startswith("Grüße aus Köln! Die Bestellung W-5003")
    assert attrs["excerpt"].endswith("Danke \u2013 Jürgen")  # soft line break joined


def test_rfc2047_subject_and_latin1_body() -> None:
    event = one("rfc2047_subject")
    assert event.attributes["subject"] == "Commande W-5004 : retour d\u2019un article été"
    assert event.summary == "Email: Commande W-5004 : retour d\u2019un article été"
    assert event.attributes["from_name"] == "André Dupont"
    assert event.attributes["excerpt"] == "Bonjour, je voudrais retourner un article déjà porté."


def test_reply_threads_and_cuts_the_quoted_original() -> None:
    attrs = one("reply_quoted").attributes
    assert attrs["in_reply_to"] == "reply-7788@shop.io"
    assert attrs["thread_id"] == "CAB7x9QK2mPz1@mail.example.org"  # first of References
    assert attrs["message_id"] == "CAB7x9QK9zzz@mail.example.org"
    assert attrs["excerpt"] == "Perfect, I will come at 11."


def test_base64_text_part() -> None:
    attrs = one("base64_text").attributes
    assert attrs["excerpt"] == "Bitte stornieren Sie Bestellung W-5006. Vielen Dank, Jürgen"


def test_outbound_mail_is_one_sent_event_per_customer_recipient() -> None:
    events = map_email(raw("outbound"), RECEIVED, company_domains=DOMAINS)
    assert [e.kind for e in events] == ["email_sent", "email_sent"]
    assert [e.identifiers[0].value for e in events] == [
        "maria.lopez@example.org",
        "tom.reed@example.net",
    ]  # ops@shop.io is the company, not a customer
    assert all(len(e.identifiers) == 1 for e in events)  # two customers are never linked
    assert len({e.event_id for e in events}) == 2
    assert all(e.event_id.startswith("smtp:reply-7788@shop.io:rcpt:") for e in events)
    assert all("maria" not in e.event_id for e in events)  # no address in ids (they are logged)
    first = events[0]
    assert first.summary == "Email sent: Your order W-5001 is ready"
    assert first.attributes["from"] == "sam.carter@shop.io"
    assert first.attributes["to"] == ["maria.lopez@example.org", "ops@shop.io"]
    assert first.attributes["thread_id"] == "CAB7x9QK2mPz1@mail.example.org"
    assert first.attributes["excerpt"] == "Hi Maria, your order is ready from 10:00."


def test_without_company_domains_everything_is_received() -> None:
    events = map_email(raw("outbound"), RECEIVED)
    assert [(e.kind, e.identifiers[0].value) for e in events] == [
        ("email_received", "sam.carter@shop.io")
    ]


def test_subdomains_of_company_domains_count_as_company() -> None:
    assert is_company_address("a@mail.shop.io", DOMAINS)
    assert is_company_address("a@SHOP.IO", DOMAINS)
    assert not is_company_address("a@notshop.io", DOMAINS)
    assert not is_company_address("a@shop.io.evil.com", DOMAINS)


def test_missing_message_id_uses_a_content_hash_stable_across_relays() -> None:
    data = raw("no_message_id")
    event = one("no_message_id")
    assert event.event_id == f"smtp:content:{content_digest(data)}"
    assert "message_id" not in event.attributes and "thread_id" not in event.attributes
    relayed = b"Received: from another.hop by mx; Sun, 9 Nov 2025 12:00:05 +0000\r\n" + data
    again = map_email(relayed.replace(b"\r\n", b"\n"), RECEIVED, company_domains=DOMAINS)
    assert again[0].event_id == event.event_id
    edited = data.replace(b"Short note", b"Longer note")
    assert map_email(edited, RECEIVED)[0].event_id != event.event_id


def test_redelivery_gives_the_same_ids() -> None:
    later = datetime(2026, 2, 1, tzinfo=UTC)
    for name in ("plain", "outbound"):
        first = map_email(raw(name), RECEIVED, company_domains=DOMAINS)
        second = map_email(raw(name), later, company_domains=DOMAINS, source="email-http")
        assert [e.event_id for e in first] == [e.event_id for e in second]


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        (None, RECEIVED),
        ("not a date", RECEIVED),
        ("Mon, 3 Nov 2025 09:14:02 -0000", datetime(2025, 11, 3, 9, 14, 2, tzinfo=UTC)),
        ("3 Nov 2025 09:14:02 +0530", datetime(2025, 11, 3, 3, 44, 2, tzinfo=UTC)),
        ("Fri, 1 Jan 2100 00:00:00 +0000", RECEIVED),  # absurd future: the receipt time
    ],
)
def test_date_header(date: str | None, expected: datetime) -> None:
    header = f"Date: {date}\r\n" if date is not None else ""
    data = f"From: a@example.org\r\n{header}Subject: x\r\n\r\nbody\r\n".encode()
    assert map_email(data, RECEIVED)[0].occurred_at == expected


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "message: is empty"),
        (b"just some text without headers", "message: has no header fields"),
        (b"To: support@shop.io\r\nSubject: hi\r\n\r\nx", "From: has no valid email address"),
        (b"From: Maria <not-an-address>\r\n\r\nx", "From: has no valid email address"),
        (
            b"From: sam@shop.io\r\nTo: ops@shop.io\r\n\r\nx",
            "To/Cc: mail from a company domain has no recipient outside it",
        ),
    ],
)
def test_unusable_messages_name_the_problem(data: bytes, reason: str) -> None:
    with pytest.raises(InvalidEvent) as err:
        map_email(data, RECEIVED, company_domains=DOMAINS)
    assert str(err.value).startswith(reason)


def test_no_subject_and_no_body() -> None:
    event = map_email(b"From: a@example.org\r\n\r\n", RECEIVED)[0]
    assert event.summary == "Email: (no subject)"
    assert "subject" not in event.attributes and "excerpt" not in event.attributes


def test_unknown_charset_falls_back_to_utf8() -> None:
    data = (
        b"From: a@example.org\r\nContent-Type: text/plain; charset=x-unknown\r\n\r\n"
        + "caf\u00e9".encode()
    )
    assert map_email(data, RECEIVED)[0].attributes["excerpt"] == "café"


def test_excerpt_cuts_quotes_and_clips() -> None:
    text = "Hi\n> quoted\nthanks\n-----Original Message-----\nFrom: x\nold"
    assert excerpt(text) == "Hi thanks"
    assert excerpt("new\n-- \nSam, Shop.io") == "new"
    long = excerpt("word " * 200)
    assert len(long) <= 300 and long.endswith("…")


def test_html_to_text_keeps_blocks_apart() -> None:
    assert " ".join(html_to_text("<p>one</p><p>two<br>three</p>").split()) == "one two three"
    assert html_to_text("<blockquote>old</blockquote>new").strip() == "new"
