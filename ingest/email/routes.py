"""HTTP transport of the email adapter: raw `message/rfc822`, and the inbound-mail providers.

`/email/inbound` takes a raw message; `/email/sendgrid`, `/email/mailgun` and
`/email/postmark` take those providers' webhooks. All four end in the one mapping SMTP
uses (`map_email`). SendGrid and Postmark do not sign inbound webhooks: they authenticate
with the write key as the HTTP Basic user of the webhook URL (`https://KEY@host/...`);
Mailgun signs each POST (`timestamp`, `token`, `signature`), checked with
`THREADLINE_MAILGUN_WEBHOOK_SIGNING_KEY`.
"""

from __future__ import annotations

import asyncio
from typing import Final

import structlog
from fastapi import APIRouter, Request

from ingest.email import providers
from ingest.email.mapping import map_email
from ingest.gateway import (
    get_gateway,
    publish_events,
    refusing_invalid,
    require_write_key,
)
from ingest.http import ApiError, JsonResponse, parse_form, parse_json, read_body
from ingest.openapi import examples
from ingest.signatures import mailgun_signature, matches, require_signature
from schemas.events import utc_now

log = structlog.get_logger()

router = APIRouter(tags=["email"])

#: `source` of mail posted over HTTP (event ids are shared with SMTP: same Message-ID, same id).
HTTP_SOURCE: Final = "email-http"
MEDIA_TYPE: Final = "message/rfc822"
FORM_TYPES: Final = "multipart/form-data"


async def _deliver(request: Request, raw: bytes, source: str, status: int) -> JsonResponse:
    """Map a raw message (off the event loop: MIME parsing is CPU work), publish, answer."""
    settings = get_gateway(request).settings
    with refusing_invalid():
        events = await asyncio.to_thread(
            map_email,
            raw,
            request.state.received_at,
            company_domains=settings.company_domains,
            default_region=settings.default_region,
            source=source,
        )
    await publish_events(request, events)
    log.info("email_accepted", transport=source, events=len(events), kind=events[0].kind)
    return JsonResponse(
        {"accepted": len(events), "event_ids": [e.event_id for e in events]}, status_code=status
    )


def _start(request: Request) -> None:
    request.state.received_at = utc_now()


@router.post(
    "/email/inbound",
    name="email_inbound",
    status_code=202,
    openapi_extra=examples("email_inbound", MEDIA_TYPE),
)
async def email_inbound(request: Request) -> JsonResponse:
    """One raw RFC 5322 message: mapped, published, 202 once the broker acknowledged it."""
    _start(request)
    require_write_key(request)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != MEDIA_TYPE:
        raise ApiError(415, "unsupported_media_type", f"Content-Type must be {MEDIA_TYPE}")
    raw = await read_body(request, get_gateway(request).settings.email_max_bytes)
    return await _deliver(request, raw, HTTP_SOURCE, 202)


@router.post(
    "/email/sendgrid", name="sendgrid_inbound_parse", openapi_extra=examples("sendgrid", FORM_TYPES)
)
async def sendgrid_inbound(request: Request) -> JsonResponse:
    """SendGrid Inbound Parse (multipart/form-data), raw ("Send Raw") or parsed."""
    _start(request)
    require_write_key(request)
    limit = get_gateway(request).settings.email_max_bytes
    fields, files = await parse_form(request, await read_body(request, limit), limit)
    with refusing_invalid():
        raw = providers.sendgrid(fields, files)
    return await _deliver(request, raw, "sendgrid", 200)


@router.post("/email/mailgun", name="mailgun_route", openapi_extra=examples("mailgun", FORM_TYPES))
async def mailgun_route(request: Request) -> JsonResponse:
    """A Mailgun route's forward(): parsed fields, or `body-mime` on a URL ending in mime."""
    _start(request)
    limit = get_gateway(request).settings.email_max_bytes
    fields, files = await parse_form(request, await read_body(request, limit), limit)
    timestamp, token = fields.get("timestamp", ""), fields.get("token", "")
    require_signature(
        request,
        get_gateway(request).settings.mailgun_webhook_signing_key,
        "THREADLINE_MAILGUN_WEBHOOK_SIGNING_KEY",
        "the Mailgun signature",
        lambda key: matches(fields.get("signature"), [mailgun_signature(key, timestamp, token)]),
    )
    with refusing_invalid():
        raw = providers.mailgun(fields, files)
    return await _deliver(request, raw, "mailgun", 200)


@router.post("/email/postmark", name="postmark_inbound", openapi_extra=examples("postmark"))
async def postmark_inbound(request: Request) -> JsonResponse:
    """Postmark's inbound webhook (JSON)."""
    _start(request)
    require_write_key(request)
    raw_body = await read_body(request, get_gateway(request).settings.email_max_bytes)
    body = parse_json(raw_body)
    with refusing_invalid():
        raw = providers.postmark(body)
    return await _deliver(request, raw, "postmark", 200)
