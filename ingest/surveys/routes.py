"""HTTP transport of the surveys adapter: NPS / CSAT / CES responses."""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Request

from ingest.gateway import accept_json_events
from ingest.http import JsonResponse
from ingest.surveys import mapping

log = structlog.get_logger()

router = APIRouter(tags=["surveys"])


@router.post("/surveys/responses", name="survey_responses")
async def survey_responses(request: Request) -> JsonResponse:
    """One response or `{"responses": [...]}`, write key required, all or nothing."""
    accepted = await accept_json_events(request, mapping.MAX_BODY_BYTES, mapping.map_responses)
    log.info("survey_responses_accepted", events=accepted)
    return JsonResponse({"success": True, "accepted": accepted})
