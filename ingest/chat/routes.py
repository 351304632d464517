"""HTTP transport of the chat adapter: Twilio Conversations webhooks and generic widget events."""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Request
from starlette.responses import Response

from ingest.chat import mapping, twilio
from ingest.chat.auth import verify_twilio
from ingest.gateway import accept_json_events, get_gateway, publish_events
from ingest.http import ApiError, JsonResponse, read_body
from schemas import InvalidEvent
from schemas.events import utc_now

log = structlog.get_logger()

router = APIRouter(tags=["chat"])

FORM = "application/x-www-form-urlencoded"


@router.post("/chat/twilio", name="twilio_conversations_webhook", response_model=None)
async def twilio_webhook(request: Request) -> Response:
    """A Twilio Conversations webhook: 200 once published (empty for event types not mapped)."""
    received_at = utc_now()
    raw = await read_body(request, twilio.MAX_BODY_BYTES)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != FORM:
        raise ApiError(415, "unsupported_media_type", f"Content-Type must be {FORM}")
    try:
        pairs = twilio.parse_form(raw)
    except InvalidEvent as exc:
        raise ApiError(400, "invalid_form", str(exc)) from None
    verify_twilio(request, pairs)
    settings = get_gateway(request).settings
    try:
        events = twilio.map_webhook(
            twilio.form_fields(pairs),
            received_at,
            settings.default_region,
            settings.company_domains,
        )
    except InvalidEvent as exc:
        raise ApiError(422, "invalid_event", str(exc)) from None
    if not events:
        log.info("twilio_ignored")
        return Response(status_code=200)
    await publish_events(request, events)
    log.info("twilio_accepted", kind=events[0].kind, event_id=events[0].event_id)
    return JsonResponse({"success": True, "accepted": len(events)})


@router.post("/chat/events", name="chat_events")
async def chat_events(request: Request) -> JsonResponse:
    """Generic web-chat events: one object or `{"events": [...]}`, write key required."""
    accepted = await accept_json_events(request, mapping.MAX_BODY_BYTES, mapping.map_chat_events)
    log.info("chat_events_accepted", events=accepted)
    return JsonResponse({"success": True, "accepted": accepted})
