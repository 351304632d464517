"""HTTP transport of the surveys adapter: Threadline's own JSON, Delighted and Typeform webhooks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import structlog
from fastapi import APIRouter, Request

from ingest.gateway import accept_json_events, get_gateway, publish_events, refusing_invalid
from ingest.http import JsonResponse, parse_json, read_body, require_json_content_type
from ingest.openapi import examples
from ingest.signatures import delighted_signature, matches, require_signature, typeform_signature
from ingest.surveys import delighted, mapping, typeform
from schemas import CanonicalEvent
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


@dataclass(frozen=True)
class SignedWebhook:
    """A survey tool's signed JSON webhook: its limits, signature scheme and mapping."""

    max_bytes: int
    secret_setting: str
    header: str
    expected: Callable[[bytes, bytes], list[str]]
    map_body: Callable[[Any, datetime, str], list[CanonicalEvent]]


def _delighted(key: bytes, raw: bytes) -> list[str]:
    expected = delighted_signature(key, raw)
    return [expected, expected.removeprefix("sha256=")]


DELIGHTED: Final = SignedWebhook(
    delighted.MAX_BODY_BYTES,
    "delighted_webhook_secret",
    "X-Delighted-Webhook-Signature",
    _delighted,
    delighted.map_delighted,
)
TYPEFORM: Final = SignedWebhook(
    typeform.MAX_BODY_BYTES,
    "typeform_webhook_secret",
    "Typeform-Signature",
    lambda key, raw: [typeform_signature(key, raw)],
    typeform.map_typeform,
)


async def _signed_webhook(request: Request, hook: SignedWebhook) -> JsonResponse:
    """Capped body, the vendor's signature over it (with the configured secret), mapping."""
    received_at = utc_now()
    raw = await read_body(request, hook.max_bytes)
    given = request.headers.get(hook.header)
    settings = get_gateway(request).settings
    require_signature(
        request,
        getattr(settings, hook.secret_setting),
        f"THREADLINE_{hook.secret_setting.upper()}",
        hook.header,
        lambda key: matches(given, hook.expected(key, raw)),
    )
    require_json_content_type(request)
    body = parse_json(raw)
    with refusing_invalid():
        events = hook.map_body(body, received_at, settings.default_region)
    await publish_events(request, events)
    log.info("survey_webhook_accepted", route=request.url.path, events=len(events))
    return JsonResponse({"success": True, "accepted": len(events)})


@router.post("/surveys/delighted", name="delighted_webhook", openapi_extra=examples("delighted"))
async def delighted_webhook(request: Request) -> JsonResponse:
    """Delighted `survey_response.created` / `.updated` webhooks (others: 200, no event)."""
    return await _signed_webhook(request, DELIGHTED)


@router.post("/surveys/typeform", name="typeform_webhook", openapi_extra=examples("typeform"))
async def typeform_webhook(request: Request) -> JsonResponse:
    """Typeform `form_response` webhooks (NPS, opinion-scale or rating answers)."""
    return await _signed_webhook(request, TYPEFORM)
