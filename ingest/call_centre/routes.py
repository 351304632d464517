"""HTTP transport of the call_centre adapter: Amazon Connect contact records, Asterisk CDRs."""

from __future__ import annotations

import time
from typing import Final

import structlog
from fastapi import APIRouter, Request

from ingest.call_centre import asterisk, connect
from ingest.gateway import get_gateway, publish_events, require_write_key
from ingest.http import ApiError, JsonResponse, read_body
from schemas import InvalidEvent
from schemas.events import utc_now

log = structlog.get_logger()

router = APIRouter(tags=["call_centre"])

_JSON_TYPES: Final = frozenset(
    {"application/json", "application/x-ndjson", "application/jsonl", "application/json-seq"}
)
_CSV_TYPES: Final = frozenset({"text/csv", "application/csv", "text/plain"})


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


@router.post("/call-centre/amazon-connect", name="amazon_connect_contact_records")
async def amazon_connect(request: Request) -> JsonResponse:
    """Contact records: one object, a list, NDJSON, or a Kinesis Firehose HTTP envelope."""
    received_at = utc_now()
    require_write_key(request, alt_header="x-amz-firehose-access-key")
    raw = await read_body(request, connect.MAX_BODY_BYTES)
    media = _media_type(request)
    if media and media not in _JSON_TYPES and not media.endswith("+json"):
        raise ApiError(415, "unsupported_media_type", "Content-Type must be application/json")
    region = get_gateway(request).settings.default_region
    try:
        records = connect.parse_records(raw)
        events = connect.map_records(records, received_at, region)
    except InvalidEvent as exc:
        raise ApiError(400, "invalid_event", str(exc)) from None
    await publish_events(request, events)
    log.info("connect_accepted", records=len(records), events=len(events))
    firehose_id = request.headers.get("x-amz-firehose-request-id")
    if firehose_id is not None:  # the answer Firehose's HTTP endpoint delivery expects
        return JsonResponse({"requestId": firehose_id, "timestamp": int(time.time() * 1000)})
    return JsonResponse({"accepted": len(events), "duplicates": len(records) - len(events)})


@router.post("/call-centre/asterisk-cdr", name="asterisk_cdr")
async def asterisk_cdr(request: Request) -> JsonResponse:
    """Rows of Asterisk's cdr_csv `Master.csv` (`text/csv`, optional header row)."""
    received_at = utc_now()
    require_write_key(request)
    raw = await read_body(request, asterisk.MAX_BODY_BYTES)
    if _media_type(request) not in _CSV_TYPES:
        raise ApiError(415, "unsupported_media_type", "Content-Type must be text/csv")
    settings = get_gateway(request).settings
    try:
        result = asterisk.map_csv(
            raw, received_at, settings.asterisk_timezone, settings.default_region
        )
    except InvalidEvent as exc:
        raise ApiError(400, "invalid_event", str(exc)) from None
    if result.events:
        await publish_events(request, result.events)
    log.info("asterisk_accepted", events=len(result.events), skipped=result.skipped)
    return JsonResponse({"accepted": len(result.events), "skipped": result.skipped})
