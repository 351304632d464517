"""HTTP transport of the email adapter: `POST /email/inbound` with a raw `message/rfc822` body."""

from __future__ import annotations

import asyncio
from typing import Final

import structlog
from fastapi import APIRouter, Request

from ingest.email.mapping import map_email
from ingest.gateway import get_gateway, publish_events, require_write_key
from ingest.http import ApiError, JsonResponse, read_body
from schemas import InvalidEvent
from schemas.events import utc_now

log = structlog.get_logger()

router = APIRouter(tags=["email"])

#: `source` of mail posted over HTTP (event ids are shared with SMTP: same Message-ID, same id).
HTTP_SOURCE: Final = "email-http"
MEDIA_TYPE: Final = "message/rfc822"


@router.post("/email/inbound", name="email_inbound", status_code=202)
async def email_inbound(request: Request) -> JsonResponse:
    """One raw RFC 5322 message: mapped, published, 202 once the broker acknowledged it."""
    received_at = utc_now()
    require_write_key(request)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != MEDIA_TYPE:
        raise ApiError(415, "unsupported_media_type", f"Content-Type must be {MEDIA_TYPE}")
    settings = get_gateway(request).settings
    raw = await read_body(request, settings.email_max_bytes)
    try:
        # Parsing a large MIME message is CPU work: keep it off the event loop.
        events = await asyncio.to_thread(
            map_email,
            raw,
            received_at,
            company_domains=settings.company_domains,
            default_region=settings.default_region,
            source=HTTP_SOURCE,
        )
    except InvalidEvent as exc:
        raise ApiError(400, "invalid_event", str(exc)) from None
    await publish_events(request, events)
    log.info("email_accepted", transport="http", events=len(events), kind=events[0].kind)
    return JsonResponse(
        {"accepted": len(events), "event_ids": [e.event_id for e in events]}, status_code=202
    )
