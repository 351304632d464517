"""HTTP transport of the chat adapter: Twilio (Conversations and Messaging) and widget events."""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Request
from starlette.responses import Response

from ingest.chat import mapping, twilio, twilio_messaging
from ingest.chat.auth import verify_twilio
from ingest.gateway import accept_json_events, get_gateway, publish_events, refusing_invalid
from ingest.http import ApiError, JsonResponse, invalid, read_body
from ingest.openapi import examples
from schemas import InvalidEvent
from schemas.events import utc_now

log = structlog.get_logger()

router = APIRouter(tags=["chat"])

FORM = "application/x-www-form-urlencoded"


@router.post(
    "/chat/twilio",
    name="twilio_webhook",
    response_model=None,
    openapi_extra=examples("twilio", FORM),
)
async def twilio_webhook(request: Request) -> Response:
    """Twilio Conversations webhooks and Programmable Messaging webhooks (incoming SMS,
    MMS, WhatsApp; status callbacks): 200 once published, empty for events not mapped."""
    received_at = utc_now()
    raw = await read_body(request, twilio.MAX_BODY_BYTES)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != FORM:
        raise ApiError(415, "unsupported_media_type", f"Content-Type must be {FORM}")
    try:
        pairs = twilio.parse_form(raw)
    except InvalidEvent as exc:
        raise invalid("invalid_form", str(exc)) from None
    verify_twilio(request, pairs)
    settings = get_gateway(request).settings
    with refusing_invalid():
        params = twilio.form_fields(pairs)
        if not twilio.is_conversations(params) and twilio_messaging.is_messaging(params):
            events = twilio_messaging.map_message_webhook(
                params, received_at, settings.default_region
            )
        else:
            events = twilio.map_webhook(
                params, received_at, settings.default_region, settings.company_domains
            )
    if not events:
        log.info("twilio_ignored")
        return Response(status_code=200)
    await publish_events(request, events)
    log.info("twilio_accepted", kind=events[0].kind, source=events[0].source)
    return JsonResponse({"success": True, "accepted": len(events)})


@router.post("/chat/events", name="chat_events", openapi_extra=examples("chat_events"))
async def chat_events(request: Request) -> JsonResponse:
    """Generic web-chat events: one object or `{"events": [...]}`, write key required."""
    accepted = await accept_json_events(request, mapping.MAX_BODY_BYTES, mapping.map_chat_events)
    log.info("chat_events_accepted", events=accepted)
    return JsonResponse({"success": True, "accepted": accepted})
