"""HTTP transport of the surveys adapter: Threadline's own JSON, Delighted and Typeform webhooks."""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Request

from ingest.gateway import accept_json_events, get_gateway, publish_events, refusing_invalid
from ingest.http import JsonResponse, parse_json, read_body, require_json_content_type
from ingest.openapi import examples
from ingest.signatures import delighted_signature, matches, require_signature, typeform_signature
from ingest.surveys import delighted, mapping, typeform
from schemas.events import utc_now

log = structlog.get_logger()

router = APIRouter(tags=["surveys"])


@router.post(
    "/surveys/responses", name="survey_responses", openapi_extra=examples("survey_responses")
)
async def survey_responses(request: Request) -> JsonResponse:
    """One response or `{"responses": [...]}`, write key required, all or nothing."""
    accepted = await accept_json_events(request, mapping.MAX_BODY_BYTES, mapping.map_responses)
    log.info("survey_responses_accepted", events=accepted)
    return JsonResponse({"success": True, "accepted": accepted})


@router.post("/surveys/delighted", name="delighted_webhook", openapi_extra=examples("delighted"))
async def delighted_webhook(request: Request) -> JsonResponse:
    """Delighted `survey_response.created` / `.updated` webhooks (others: 200, no event)."""
    received_at = utc_now()
    raw = await read_body(request, delighted.MAX_BODY_BYTES)
    given = request.headers.get("x-delighted-webhook-signature")

    def valid(key: bytes) -> bool:
        expected = delighted_signature(key, raw)
        return matches(given, (expected, expected.removeprefix("sha256=")))

    settings = get_gateway(request).settings
    require_signature(
        request,
        settings.delighted_webhook_secret,
        "THREADLINE_DELIGHTED_WEBHOOK_SECRET",
        "X-Delighted-Webhook-Signature",
        valid,
    )
    require_json_content_type(request)
    body = parse_json(raw)
    with refusing_invalid():
        events = delighted.map_delighted(body, received_at, settings.default_region)
    await publish_events(request, events)
    log.info("delighted_accepted", events=len(events))
    return JsonResponse({"success": True, "accepted": len(events)})


@router.post("/surveys/typeform", name="typeform_webhook", openapi_extra=examples("typeform"))
async def typeform_webhook(request: Request) -> JsonResponse:
    """Typeform `form_response` webhooks (NPS, opinion-scale or rating answers)."""
    received_at = utc_now()
    raw = await read_body(request, typeform.MAX_BODY_BYTES)
    given = request.headers.get("typeform-signature")
    settings = get_gateway(request).settings
    require_signature(
        request,
        settings.typeform_webhook_secret,
        "THREADLINE_TYPEFORM_WEBHOOK_SECRET",
        "Typeform-Signature",
        lambda secret: matches(given, [typeform_signature(secret, raw)]),
    )
    require_json_content_type(request)
    body = parse_json(raw)
    with refusing_invalid():
        events = typeform.map_typeform(body, received_at, settings.default_region)
    await publish_events(request, events)
    log.info("typeform_accepted", events=len(events))
    return JsonResponse({"success": True, "accepted": len(events)})
