"""Inbound-mail providers' webhooks back to one RFC 5322 message (pure), for `map_email`.

A provider either forwards the raw message (SendGrid "Send Raw" `email`, Mailgun `body-mime`
on a URL ending in `mime`, Postmark `RawEmail` when enabled), which is used as it is, or
parses it into fields. Parsed fields are put back together as a message: the original
header fields (SendGrid `headers`, Mailgun `message-headers`, Postmark `Headers` plus its
address fields), the text and HTML bodies and the attachment names (never their contents).
Every route then runs the one mapping SMTP uses, so the same mail gives the same event id
(`Message-ID`) and the same attributes whichever way it came.
"""

from __future__ import annotations

import email.policy
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from email.message import EmailMessage
from email.parser import HeaderParser
from typing import Any, Final

import orjson

from schemas import InvalidEvent

#: Header fields that describe the original MIME structure: the rebuilt body has its own.
_STRUCTURE: Final = frozenset(
    {"content-type", "content-transfer-encoding", "mime-version", "content-disposition"}
)
MAX_HEADERS: Final = 500


def compose(
    headers: Iterable[tuple[str, str]],
    text: str | None,
    html: str | None,
    attachments: Sequence[str] = (),
) -> bytes:
    """A message from parsed parts: header fields as given, bodies and named attachments."""
    lines = []
    for count, (name, value) in enumerate(headers):
        if count >= MAX_HEADERS:
            raise InvalidEvent(f"headers: more than {MAX_HEADERS} header fields")
        name = name.strip()
        if not name or name.lower() in _STRUCTURE or not name.isascii() or ":" in name:
            continue
        flat = " ".join(str(value).split())
        lines.append(f"{name}: {flat}\r\n")
    body = EmailMessage(policy=email.policy.SMTPUTF8)
    if text is not None:
        body.set_content(text)
        if html is not None:
            body.add_alternative(html, subtype="html")
    elif html is not None:
        body.set_content(html, subtype="html")
    else:
        body.set_content("")
    for name in attachments:
        body.add_attachment(b"", maintype="application", subtype="octet-stream", filename=name)
    head = "".join(lines).encode("utf-8", "surrogateescape")
    _fix_boundaries(body, hashlib.sha256(head + repr((text, html, attachments)).encode()))
    return head + body.as_bytes()


def _fix_boundaries(part: EmailMessage, seed: Any) -> None:
    """Boundaries derived from the content, not random: the same webhook delivered twice is
    the same message, so a mail without Message-ID still gets the same content-hash id."""
    if not part.is_multipart():
        return
    seed.update(b"/")
    part.set_boundary(f"=_threadline_{seed.hexdigest()[:32]}")
    for child in part.iter_parts():
        if isinstance(child, EmailMessage):
            _fix_boundaries(child, seed)


def _header_block(text: str) -> list[tuple[str, str]]:
    """The fields of a raw header block (SendGrid's `headers`)."""
    parsed = HeaderParser(policy=email.policy.compat32).parsestr(text.strip() + "\n\n")
    return [(k, str(v)) for k, v in parsed.raw_items()]


def sendgrid(fields: Mapping[str, str], attachments: Sequence[str]) -> bytes:
    """SendGrid Inbound Parse: the raw `email` field, or the parsed fields put back together."""
    raw = fields.get("email")
    if raw:
        return raw.encode("utf-8", "surrogateescape")
    block = fields.get("headers")
    if not block:
        raise InvalidEvent("headers: is required (or email, with Send Raw enabled)")
    headers = _header_block(block)
    present = {k.lower() for k, _ in headers}
    for name in ("From", "To", "Cc", "Subject"):
        if name.lower() not in present and fields.get(name.lower()):
            headers.append((name, fields[name.lower()]))
    return compose(headers, fields.get("text"), fields.get("html"), attachments)


def mailgun(fields: Mapping[str, str], attachments: Sequence[str]) -> bytes:
    """Mailgun route forward: `body-mime` (a URL ending in `mime`), else the parsed fields."""
    raw = fields.get("body-mime")
    if raw:
        return raw.encode("utf-8", "surrogateescape")
    headers: list[tuple[str, str]] = []
    listed = fields.get("message-headers")
    if listed:
        try:
            pairs = orjson.loads(listed)
        except orjson.JSONDecodeError:
            raise InvalidEvent("message-headers: is not a JSON list of [name, value]") from None
        if not isinstance(pairs, list):
            raise InvalidEvent("message-headers: is not a JSON list of [name, value]")
        for pair in pairs:
            if isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair):
                headers.append((pair[0], pair[1]))
    present = {k.lower() for k, _ in headers}
    for name in ("from", "subject"):
        if name not in present and fields.get(name):
            headers.append((name.capitalize(), fields[name]))
    if "from" not in present and "from" not in fields and fields.get("sender"):
        headers.append(("From", fields["sender"]))
    if "to" not in present and fields.get("recipient"):
        headers.append(("To", fields["recipient"]))
    return compose(headers, fields.get("body-plain"), fields.get("body-html"), attachments)


def postmark(body: Any) -> bytes:
    """Postmark inbound JSON: `RawEmail` when included, else its fields put back together."""
    if not isinstance(body, Mapping):
        raise InvalidEvent("body: must be a JSON object (a Postmark inbound message)")
    raw = body.get("RawEmail")
    if isinstance(raw, str) and raw.strip():
        return raw.encode("utf-8", "surrogateescape")
    headers: list[tuple[str, str]] = []
    listed = body.get("Headers") or []
    if not isinstance(listed, list):
        raise InvalidEvent("Headers: must be a list of {Name, Value}")
    for item in listed:
        if isinstance(item, Mapping) and isinstance(item.get("Name"), str):
            headers.append((item["Name"], str(item.get("Value") or "")))
    present = {k.lower() for k, _ in headers}
    sender = _postmark_address(body.get("FromFull")) or _text(body, "From")
    if sender is None:
        raise InvalidEvent("From: is required")
    own = [
        ("From", sender),
        ("To", _postmark_list(body.get("ToFull")) or _text(body, "To")),
        ("Cc", _postmark_list(body.get("CcFull")) or _text(body, "Cc")),
        ("Subject", _text(body, "Subject")),
        ("Date", _text(body, "Date")),
        ("Reply-To", _text(body, "ReplyTo")),
    ]
    headers += [(k, v) for k, v in own if v and k.lower() not in present]
    names = [
        str(a["Name"])
        for a in body.get("Attachments") or []
        if isinstance(a, Mapping) and isinstance(a.get("Name"), str)
    ]
    return compose(headers, _text(body, "TextBody"), _text(body, "HtmlBody"), names)


def _text(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidEvent(f"{name}: must be a string")
    return value


def _postmark_address(item: Any) -> str | None:
    if not isinstance(item, Mapping) or not isinstance(item.get("Email"), str):
        return None
    name = item.get("Name")
    if isinstance(name, str) and name.strip():
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{quoted}" <{item["Email"]}>'
    return str(item["Email"])


def _postmark_list(items: Any) -> str | None:
    if not isinstance(items, list):
        return None
    found = [a for a in (_postmark_address(i) for i in items) if a]
    return ", ".join(found) or None
