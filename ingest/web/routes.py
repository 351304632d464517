"""Segment HTTP Tracking API transport: `/v1/batch` and the single-call routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from fastapi import APIRouter, Request

from ingest.gateway import get_gateway, publish_events
from ingest.http import (
    ApiError,
    JsonResponse,
    basic_auth_user,
    key_matches,
    parse_json,
    read_body,
    require_json_content_type,
)
from ingest.openapi import examples
from ingest.web.mapping import (
    KINDS,
    MAX_BATCH_BYTES,
    MAX_MESSAGE_BYTES,
    MessageTooLarge,
    map_batch,
    map_message,
)
from schemas import InvalidEvent
from schemas.events import utc_now

log = structlog.get_logger()

router = APIRouter(tags=["web"])

BAD_KEY = "missing or invalid write key (HTTP Basic user, or writeKey in the body)"


async def _handle(request: Request, call_type: str | None) -> JsonResponse:
    """Authenticate, read, map (all or nothing), publish, then answer `{"success": true}`."""
    gateway = get_gateway(request)
    received_at = utc_now()
    basic_key = basic_auth_user(request)
    if basic_key is not None and not key_matches(basic_key, gateway.write_keys):
        raise ApiError(401, "unauthorized", BAD_KEY)
    limit = MAX_BATCH_BYTES if call_type is None else MAX_MESSAGE_BYTES
    raw = await read_body(request, limit)
    require_json_content_type(request)
    body = parse_json(raw)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_event", "body: must be a JSON object")
    write_key = body.pop("writeKey", None)
    if basic_key is None and not (
        isinstance(write_key, str) and key_matches(write_key.encode(), gateway.write_keys)
    ):
        raise ApiError(401, "unauthorized", BAD_KEY)
    region = gateway.settings.default_region
    try:
        if call_type is None:
            events = map_batch(body, received_at, region)
        else:
            events = [map_message(_typed(body, call_type), received_at, region)]
    except MessageTooLarge as exc:
        raise ApiError(413, "payload_too_large", str(exc)) from None
    except InvalidEvent as exc:
        raise ApiError(400, "invalid_event", str(exc)) from None
    await publish_events(request, events)
    log.info("segment_accepted", events=len(events), call=call_type or "batch")
    return JsonResponse({"success": True})


def _typed(body: dict[str, Any], call_type: str) -> dict[str, Any]:
    """The body as a message of `call_type`: `type` is filled in, a different one refused."""
    given = body.get("type")
    if given is None:
        return {**body, "type": call_type}
    if given != call_type:
        raise InvalidEvent(f"type: must be {call_type!r} on /v1/{call_type}")
    return body


@router.post("/v1/batch", name="segment_batch", openapi_extra=examples("segment_batch"))
async def segment_batch(request: Request) -> JsonResponse:
    """A batch of identify/track/page/screen/alias/group messages (up to 500 KB)."""
    return await _handle(request, None)


def _single(call_type: str) -> Callable[[Request], Awaitable[JsonResponse]]:
    async def endpoint(request: Request) -> JsonResponse:
        return await _handle(request, call_type)

    endpoint.__doc__ = f"One Segment {call_type} call (up to 32 KB)."
    return endpoint


for _call in KINDS:
    router.add_api_route(
        f"/v1/{_call}",
        _single(_call),
        methods=["POST"],
        name=f"segment_{_call}",
        openapi_extra=examples("segment_call"),
    )
