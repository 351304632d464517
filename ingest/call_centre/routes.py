"""HTTP transport of the call_centre adapter: Amazon Connect contact records, Asterisk CDRs.

A Kinesis Data Firehose HTTP-endpoint delivery (`X-Amz-Firehose-Request-Id`) is taken
record by record: the good records are published, each bad one is published to
`threadline.deadletter` with its original bytes and reason (the worker stores it in the
dead-letter store, `threadline deadletter list`), and the answer is Firehose's own shape,
`{"requestId", "timestamp"}`, or with `errorMessage` when the whole delivery is refused.
"""

from __future__ import annotations

import time
from typing import Any, Final

import structlog
from fastapi import APIRouter, Request

from ingest.call_centre import asterisk, connect
from ingest.call_centre.records import firehose_records
from ingest.gateway import (
    get_gateway,
    publish_dead_letters,
    publish_events,
    refusing_invalid,
    require_write_key,
)
from ingest.http import ApiError, JsonResponse, invalid, parse_json, read_body
from ingest.openapi import examples
from schemas.deadletter import Component, DeadLetter, Failure, FailureType
from schemas.events import utc_now

log = structlog.get_logger()

router = APIRouter(tags=["call_centre"])

FIREHOSE_ACCESS_KEY: Final = "x-amz-firehose-access-key"
FIREHOSE_REQUEST_ID: Final = "x-amz-firehose-request-id"
#: Names what refused a record in the dead-letter store.
COMPONENT: Final = Component.INGEST_AMAZON_CONNECT
_JSON_TYPES: Final = frozenset(
    {"application/json", "application/x-ndjson", "application/jsonl", "application/json-seq"}
)
_CSV_TYPES: Final = frozenset({"text/csv", "application/csv", "text/plain"})


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _require_json(request: Request) -> None:
    media = _media_type(request)
    if media and media not in _JSON_TYPES and not media.endswith("+json"):
        raise ApiError(415, "unsupported_media_type", "Content-Type must be application/json")


@router.post(
    "/call-centre/amazon-connect",
    name="amazon_connect_contact_records",
    openapi_extra=examples("amazon_connect"),
)
async def amazon_connect(request: Request) -> JsonResponse:
    """Contact records: one object, a list, NDJSON, or a Kinesis Firehose HTTP delivery."""
    received_at = utc_now()
    firehose_id = request.headers.get(FIREHOSE_REQUEST_ID)
    if firehose_id is not None:
        return await _firehose(request, firehose_id[:200])
    require_write_key(request, alt_header=FIREHOSE_ACCESS_KEY)
    raw = await read_body(request, connect.MAX_BODY_BYTES)
    _require_json(request)
    region = get_gateway(request).settings.default_region
    with refusing_invalid():
        records = connect.parse_records(raw)
        events = connect.map_records(records, received_at, region)
    await publish_events(request, events)
    log.info("connect_accepted", records=len(records), events=len(events))
    return JsonResponse({"accepted": len(events), "duplicates": len(records) - len(events)})


def _firehose_answer(request_id: str, status: int = 200, error: str | None = None) -> JsonResponse:
    body: dict[str, Any] = {"requestId": request_id, "timestamp": int(time.time() * 1000)}
    if error is not None:
        body["errorMessage"] = error
    return JsonResponse(body, status_code=status)


def _refusal(reason: str) -> Failure:
    """The mapping's reason (it names fields, never their values) as a typed failure."""
    return Failure(type=FailureType.INVALID_EVENT, message=reason)


async def _firehose(request: Request, request_id: str) -> JsonResponse:
    """A Firehose delivery: good records published, bad ones dead-lettered, Firehose's answer."""
    received_at = utc_now()
    try:
        require_write_key(request, alt_header=FIREHOSE_ACCESS_KEY)
        raw = await read_body(request, connect.MAX_BODY_BYTES)
        _require_json(request)
        envelope = parse_json(raw)
        if not isinstance(envelope, dict):
            raise invalid("invalid_event", "body: must be a Firehose delivery {requestId, records}")
        with refusing_invalid():
            records = firehose_records(envelope)
        region = get_gateway(request).settings.default_region
        events, refused = connect.map_firehose(records, received_at, region)
        letters = [
            DeadLetter.of(COMPONENT, _refusal(reason), original, received_at)
            for original, reason in refused
        ]
        await publish_events(request, events)
        await publish_dead_letters(request, letters)
    except ApiError as exc:
        get_gateway(request).metrics.rejected.labels(exc.code).inc()
        log.info("firehose_refused", status=exc.status, code=exc.code)
        return _firehose_answer(request_id, exc.status, exc.message)
    log.info("firehose_accepted", records=len(records), events=len(events), dead=len(letters))
    return _firehose_answer(request_id)


@router.post(
    "/call-centre/asterisk-cdr",
    name="asterisk_cdr",
    openapi_extra=examples("asterisk_cdr", "text/csv"),
)
async def asterisk_cdr(request: Request) -> JsonResponse:
    """Rows of Asterisk's cdr_csv `Master.csv` (`text/csv`, optional header row)."""
    received_at = utc_now()
    require_write_key(request)
    raw = await read_body(request, asterisk.MAX_BODY_BYTES)
    if _media_type(request) not in _CSV_TYPES:
        raise ApiError(415, "unsupported_media_type", "Content-Type must be text/csv")
    settings = get_gateway(request).settings
    with refusing_invalid():
        result = asterisk.map_csv(
            raw, received_at, settings.asterisk_timezone, settings.default_region
        )
    if result.events:
        await publish_events(request, result.events)
    log.info("asterisk_accepted", events=len(result.events), skipped=result.skipped)
    return JsonResponse({"accepted": len(result.events), "skipped": result.skipped})
