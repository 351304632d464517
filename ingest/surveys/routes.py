"""HTTP transport of the surveys adapter: NPS / CSAT / CES responses."""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Request

from ingest.chat.common import TooLarge
from ingest.gateway import get_gateway, publish_events, require_write_key
from ingest.http import ApiError, JsonResponse, parse_json, read_body, require_json_content_type
from ingest.surveys import mapping
from schemas import InvalidEvent
from schemas.events import utc_now

log = structlog.get_logger()

router = APIRouter(tags=["surveys"])


@router.post("/surveys/responses", name="survey_responses")
async def survey_responses(request: Request) -> JsonResponse:
    """One response or `{"responses": [...]}`, write key required, all or nothing."""
    received_at = utc_now()
    require_write_key(request)
    raw = await read_body(request, mapping.MAX_BODY_BYTES)
    require_json_content_type(request)
    body = parse_json(raw)
    region = get_gateway(request).settings.default_region
    try:
        events = mapping.map_responses(body, received_at, region)
    except TooLarge as exc:
        raise ApiError(413, "payload_too_large", str(exc)) from None
    except InvalidEvent as exc:
        raise ApiError(422, "invalid_event", str(exc)) from None
    await publish_events(request, events)
    log.info("survey_responses_accepted", events=len(events))
    return JsonResponse({"success": True, "accepted": len(events)})
