"""Pure mapping of one raw RFC 5322 message to canonical `email` events (no I/O).

Mail from a company domain is `email_sent`: one event per customer recipient (To/Cc outside
the company domains), so two customers on one mail are never linked as one person. Other
mail is `email_received`, identified by its `From` address.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any, Final

from ingest.common import capped, clip, name_traits, source_event
from ingest.email.text import excerpt, html_to_text
from schemas import CanonicalEvent, Channel, Identifier, InvalidEvent, InvalidIdentifier
from schemas.identifiers import EMAIL

SOURCE: Final = "smtp"
#: Event ids share this namespace whatever the transport: a Message-ID is global.
ID_NAMESPACE: Final = "smtp"
MAX_ATTACHMENT_NAMES: Final = 20
#: Recipients kept per header: a mail to 10,000 people keeps 50 and the count.
MAX_RECIPIENTS_KEPT: Final = 50
MAX_SUBJECT: Final = 998
#: Header fields every relaying MTA prepends: left out of the content hash of a mail
#: without Message-ID, so the same mail arriving by another path gets the same id.
_TRACE_FIELDS: Final = frozenset({b"received", b"return-path", b"delivered-to", b"x-original-to"})
_MSG_ID: Final = re.compile(r"<([^<>\s]{1,900})>")


def map_email(
    raw: bytes,
    received_at: datetime,
    *,
    company_domains: Sequence[str] = (),
    default_region: str = "US",
    source: str = SOURCE,
) -> list[CanonicalEvent]:
    """Map one raw message; raise `InvalidEvent` naming the header or part that is wrong.

    Every transport (SMTP, `/email/inbound`, the inbound-mail providers) ends here, so the
    same mail gives the same events whichever way it arrived.
    """
    if not raw.strip():
        raise InvalidEvent("message: is empty")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    if not msg.keys():
        raise InvalidEvent("message: has no header fields (not an RFC 5322 message)")
    domains = tuple(d.lower() for d in company_domains)
    sender = _first(_addresses(msg, "From", default_region))
    if sender is None:
        raise InvalidEvent("From: has no valid email address")
    outbound = is_company_address(sender[1], domains)
    recipients = {name: _addresses(msg, name, default_region) for name in ("To", "Cc")}
    message_id = _first_id(header_text(msg, "Message-ID"))
    references = _ids(header_text(msg, "References"))
    in_reply_to = _first_id(header_text(msg, "In-Reply-To"))
    subject = clip(header_text(msg, "Subject") or "", MAX_SUBJECT)
    attachments = _attachment_names(msg)
    attributes: dict[str, Any] = {
        "subject": subject or None,
        "from": sender[1],
        "from_name": sender[0] or None,
        "message_id": message_id,
        "in_reply_to": in_reply_to,
        "thread_id": (references[0] if references else None) or in_reply_to or message_id,
        "excerpt": _excerpt(msg) or None,
        "has_attachments": bool(attachments),
        "attachment_count": len(attachments),
        "attachment_names": attachments[:MAX_ATTACHMENT_NAMES],
    }
    for name, field in (("To", "to"), ("Cc", "cc")):
        kept, total = capped([a for _, a in recipients[name]], MAX_RECIPIENTS_KEPT)
        attributes[field] = kept
        if total > len(kept):
            attributes[f"{field}_count"] = total
    attributes = {k: v for k, v in attributes.items() if v is not None and v != []}
    key = message_id or f"content:{content_digest(raw)}"
    occurred_at = _occurred_at(header_text(msg, "Date"), received_at)
    title = subject or "(no subject)"
    if not outbound:
        customer = Identifier(type=EMAIL, value=sender[1])
        event = _event(
            key,
            "email_received",
            customer,
            f"Email: {title}",
            occurred_at,
            received_at,
            source,
            _with_name(attributes, sender[0]),
        )
        return [event]
    names: dict[str, str] = {}
    for display, addr in (*recipients["To"], *recipients["Cc"]):
        if not is_company_address(addr, domains):
            names.setdefault(addr, display)
    if not names:
        raise InvalidEvent("To/Cc: mail from a company domain has no recipient outside it")
    return [
        _event(
            f"{key}:rcpt:{hashlib.sha256(addr.encode()).hexdigest()[:16]}",
            "email_sent",
            Identifier(type=EMAIL, value=addr),
            f"Email sent: {title}",
            occurred_at,
            received_at,
            source,
            _with_name(attributes, display),
        )
        for addr, display in names.items()
    ]


def _with_name(attributes: dict[str, Any], display: str) -> dict[str, Any]:
    """The attributes, with the customer's display name as name traits when it is one."""
    traits = name_traits(display)
    return {**attributes, "traits": traits} if traits else attributes


def _event(
    key: str,
    kind: str,
    customer: Identifier,
    summary: str,
    occurred_at: datetime,
    received_at: datetime,
    source: str,
    attributes: dict[str, Any],
) -> CanonicalEvent:
    times = (occurred_at, received_at)
    return source_event(
        "message",
        source,
        key,
        Channel.EMAIL,
        kind,
        times,
        [customer],
        summary,
        attributes,
        id_namespace=ID_NAMESPACE,
    )


def is_company_address(address: str, domains: Sequence[str]) -> bool:
    """True if the address's domain is one of `domains` or a subdomain of one."""
    domain = address.rpartition("@")[2].lower()
    return any(domain == d or domain.endswith("." + d) for d in domains)


def header_text(msg: Message, name: str) -> str | None:
    """A header's decoded (RFC 2047) text, or its raw text if the stdlib cannot parse it.

    The stdlib header parser is known to raise assorted errors on malformed input, so any
    failure falls back to the raw value, never to a crash.
    """
    try:
        value = msg.get(name)
        return None if value is None else str(value)
    except Exception:  # the stdlib parser raises assorted errors: see docstring
        raw = next((v for k, v in msg.raw_items() if k.lower() == name.lower()), None)
        return None if raw is None else str(raw).encode("utf-8", "replace").decode()


def _raw_values(msg: Message, name: str) -> list[str]:
    """A header's raw values (8-bit text decoded as UTF-8), without the stdlib's structured
    parse: that parse takes seconds on an address list of thousands."""
    values = []
    for key, value in msg.raw_items():
        if key.lower() == name.lower():
            text = str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            values.append(" ".join(text.split()))
    return values


def _display(raw: str) -> str:
    """A display name with RFC 2047 encoded words decoded (as given when they are broken)."""
    if "=?" not in raw:
        return raw
    try:
        return str(make_header(decode_header(raw)))
    except Exception:  # malformed encoded words: the raw text is still a name
        return raw


def _addresses(msg: Message, name: str, region: str) -> list[tuple[str, str]]:
    """(display name, normalised address) pairs of an address header; bad entries skipped."""
    found: dict[str, tuple[str, str]] = {}
    for display, addr in getaddresses(_raw_values(msg, name)):
        value = addr.strip().lower()
        if value not in found:
            try:
                value = Identifier.parse(EMAIL, addr, region).value
            except InvalidIdentifier:
                continue
        found.setdefault(value, (" ".join(_display(display).split())[:200], value))
    return list(found.values())


def _first(items: list[tuple[str, str]]) -> tuple[str, str] | None:
    return items[0] if items else None


def _ids(text: str | None) -> list[str]:
    """Message ids (`<id>`, brackets dropped) in a Message-ID/References/In-Reply-To value."""
    if not text:
        return []
    found = _MSG_ID.findall(text)
    if not found:
        bare = text.split()
        found = bare[:1] if bare and len(bare[0]) <= 900 else []
    return list(dict.fromkeys(found))


def _first_id(text: str | None) -> str | None:
    ids = _ids(text)
    return ids[0] if ids else None


def _occurred_at(value: str | None, received_at: datetime) -> datetime:
    """The `Date` header in UTC (no zone or `-0000` is UTC); missing or unusable: receipt time
    (one that cannot be true, ahead of receipt or before 2000, is corrected when the event is
    built: `ingest.common.build_event`)."""
    if not value:
        return received_at
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return received_at
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        parsed = parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return received_at
    return parsed


def _excerpt(msg: EmailMessage) -> str:
    """A short plain-text excerpt: the text/plain body, else the HTML body as text."""
    try:
        body = msg.get_body(preferencelist=("plain", "html"))
    except Exception:  # malformed MIME structure: no excerpt
        return ""
    if body is None:
        return ""
    text = _part_text(body)
    if body.get_content_subtype() == "html":
        text = html_to_text(text)
    return excerpt(text)


def _part_text(part: Message) -> str:
    """A text part decoded (transfer encoding, then charset; unknown charsets as UTF-8)."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # broken transfer encoding: no excerpt
        return ""
    if not isinstance(payload, bytes):
        return ""
    charset = "utf-8"
    try:
        charset = part.get_content_charset() or "us-ascii"
        return payload.decode(charset, "replace")
    except (LookupError, ValueError, TypeError):
        return payload.decode("utf-8", "replace")


def _attachment_names(msg: Message) -> list[str]:
    """File names of the attachments (never their contents)."""
    names = []
    for part in msg.walk():
        try:
            if part.is_multipart():
                continue
            filename = part.get_filename()
            disposition = part.get_content_disposition()
        except Exception:  # noqa: S112 - malformed Content-Disposition: not an attachment
            continue
        # Inline parts (signature logos, embedded images) are part of the body, not files.
        if disposition != "attachment" and not (filename and disposition is None):
            continue
        names.append(" ".join((filename or "unnamed").split())[:200] or "unnamed")
    return names


def content_digest(raw: bytes) -> str:
    """SHA-256 of the message without MTA trace fields, line endings normalised."""
    text = raw.replace(b"\r\n", b"\n")
    head, sep, body = text.partition(b"\n\n")
    kept, skipping = [], False
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                kept.append(line)
            continue
        skipping = line.partition(b":")[0].strip().lower() in _TRACE_FIELDS
        if not skipping:
            kept.append(line)
    return hashlib.sha256(b"\n".join(kept) + sep + body).hexdigest()[:40]
