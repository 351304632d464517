"""HTTP transport of the call_centre adapter: Amazon Connect contact records, Asterisk CDRs,
screen pops from any CTI and Twilio TaskRouter event callbacks.

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
from starlette.responses import Response

from ingest.call_centre import asterisk, connect, screen_pop, taskrouter
from ingest.call_centre.records import firehose_records
from ingest.chat.auth import verify_twilio
from ingest.chat.twilio import form_fields, parse_form
from ingest.gateway import (
    get_gateway,
    publish_dead_letters,
    publish_events,
    refusing_invalid,
    require_write_key,
)
from ingest.http import (
    ApiError,
    JsonResponse,
    invalid,
    parse_json,
    read_body,
    require_json_content_type,
)
from ingest.openapi import examples
from schemas import InvalidEvent
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


@router.post(
    "/call-centre/screen-pop",
    name="screen_pop",
    status_code=202,
    openapi_extra=examples("screen_pop"),
)
async def announce_call(request: Request) -> JsonResponse:
    """A call reaching an agent, from any CTI: the caller's profile pops on that agent's open
    console (the API's `GET /v1/me/stream`), and the call shows on the caller's timeline as
    in progress until its contact record replaces it."""
    received_at = utc_now()
    require_write_key(request)
    raw = await read_body(request, screen_pop.MAX_BODY_BYTES)
    require_json_content_type(request)
    body = parse_json(raw)
    region = get_gateway(request).settings.default_region
    with refusing_invalid():
        event = screen_pop.map_screen_pop(body, received_at, region)
    await publish_events(request, [event])
    log.info("screen_pop_accepted", event_id=event.event_id)
    pop = event.attributes["screen_pop"]
    return JsonResponse(
        {"accepted": 1, "event_id": event.event_id, "pop_id": pop["pop_id"]}, status_code=202
    )


@router.post(
    "/call-centre/twilio-taskrouter",
    name="twilio_taskrouter_events",
    response_model=None,
    status_code=204,
    openapi_extra=examples("twilio_taskrouter", "application/x-www-form-urlencoded"),
)
async def taskrouter_events(request: Request) -> Response:
    """Twilio TaskRouter event callbacks (the workspace's `EventCallbackUrl`, signed with
    `X-Twilio-Signature`): a voice reservation pops the caller on the worker's console; a
    completed or canceled task is the call's contact record. 204, as TaskRouter expects."""
    received_at = utc_now()
    raw = await read_body(request, taskrouter.MAX_BODY_BYTES)
    if _media_type(request) != "application/x-www-form-urlencoded":
        raise ApiError(
            415, "unsupported_media_type", "Content-Type must be application/x-www-form-urlencoded"
        )
    try:
        pairs = parse_form(raw)
    except InvalidEvent as exc:
        raise invalid("invalid_form", str(exc)) from None
    verify_twilio(request, pairs)
    region = get_gateway(request).settings.default_region
    with refusing_invalid():
        events = taskrouter.map_event_callback(form_fields(pairs), received_at, region)
    if events:
        await publish_events(request, events)
    log.info("taskrouter_event", mapped=len(events))
    return Response(status_code=204)
