"""Web transport: the Segment HTTP Tracking API, what analytics.js and the RudderStack
JavaScript SDK send from a browser, and the settings those SDKs load from the gateway.

Server SDKs post `/v1/batch` and `/v1/<call>` with the write key as the HTTP Basic user.
Browsers post the analytics.js short routes (`/v1/t`, `/v1/p`... and `/v1/b` for a batch) as
`text/plain` with `writeKey` in the body (a beacon cannot set headers), and the RudderStack
beacon posts `/beacon/v1/batch?writeKey=`. A public browser key's messages carry its trust:
only what it vouches for links (`ingest.web.verification`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

import structlog
from fastapi import APIRouter, Request

from ingest.gateway import Gateway, get_gateway, publish_events, refusing_invalid
from ingest.http import ApiError, JsonResponse, basic_auth_user, parse_json, read_body
from ingest.keys import WriteKey
from ingest.openapi import TEXT, examples
from ingest.web.mapping import KINDS, MAX_BATCH_BYTES, MAX_MESSAGE_BYTES, map_batch, map_message
from ingest.web.verification import BrowserSource
from schemas import CanonicalEvent, InvalidEvent
from schemas.events import utc_now

log = structlog.get_logger()

router = APIRouter(tags=["web"])

BAD_KEY = "missing or invalid write key (HTTP Basic user, or writeKey in the body)"
#: analytics.js's one-letter paths (`/v1/t` is a track call); `b` is a batch.
SHORT_CALLS: Final = {call[0]: call for call in KINDS}
_BODY_TYPES: Final = ("application/json", "text/plain", "")


def _key(request: Request, body: dict[str, Any], gateway: Gateway) -> WriteKey:
    """The key of the HTTP Basic user, else `writeKey` in the body or (beacons) the query."""
    basic = basic_auth_user(request)
    if basic is not None:
        key = gateway.write_keys.match(basic)
    else:
        given = body.get("writeKey", request.query_params.get("writeKey"))
        key = gateway.write_keys.match(given.encode() if isinstance(given, str) else None)
    if key is None:
        raise ApiError(401, "unauthorized", BAD_KEY)
    return key


def _check_origin(request: Request, gateway: Gateway) -> None:
    """403 for a page of an origin not in `THREADLINE_CORS_ORIGINS` (a beacon needs no CORS
    preflight, so the gateway checks what the browser says it came from)."""
    origin = request.headers.get("origin")
    if origin is not None and not gateway.origins.allows(origin):
        raise ApiError(
            403, "origin_not_allowed", "this page's origin is not in THREADLINE_CORS_ORIGINS"
        )


def _json_body(request: Request, raw: bytes) -> dict[str, Any]:
    """The JSON object of a body declared JSON, `text/plain` (browsers) or not at all (a
    beacon's blob); a gzip body whatever its declared type (RudderStack's Node SDK)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    gzipped = request.headers.get("content-encoding", "").strip().lower() == "gzip"
    if not (gzipped or media in _BODY_TYPES or media.endswith("+json")):
        raise ApiError(415, "unsupported_media_type", "Content-Type must be application/json")
    body = parse_json(raw)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_event", "body: must be a JSON object")
    return body


async def _handle(request: Request, call_type: str | None) -> JsonResponse:
    """Key, origin, capped body, map (all or nothing), publish, then `{"success": true}`."""
    gateway = get_gateway(request)
    received_at = utc_now()
    _check_origin(request, gateway)
    raw = await read_body(request, MAX_BATCH_BYTES if call_type is None else MAX_MESSAGE_BYTES)
    body = _json_body(request, raw)
    key = _key(request, body, gateway)
    body.pop("writeKey", None)
    browser = BrowserSource(key.secret) if key.is_browser else None
    region = gateway.settings.default_region
    with refusing_invalid():
        if call_type is None:
            events = map_batch(body, received_at, region, browser)
        else:
            message = _typed(body, call_type, request.url.path)
            events = [map_message(message, received_at, region, browser=browser)]
    await publish_events(request, events)
    _count(gateway, events)
    log.info("segment_accepted", events=len(events), call=call_type or "batch", trust=key.trust)
    return JsonResponse({"success": True})


def _count(gateway: Gateway, events: list[CanonicalEvent]) -> None:
    for event in events:
        if event.trust.is_browser:
            gateway.metrics.browser_events.labels(event.trust.value).inc()


def _typed(body: dict[str, Any], call_type: str, path: str) -> dict[str, Any]:
    """The body as a message of `call_type`: `type` is filled in, a different one refused."""
    given = body.get("type")
    if given is None:
        return {**body, "type": call_type}
    if given != call_type:
        raise InvalidEvent(f"type: must be {call_type!r} on {path}")
    return body


def _endpoint(call_type: str | None) -> Callable[[Request], Awaitable[JsonResponse]]:
    async def endpoint(request: Request) -> JsonResponse:
        return await _handle(request, call_type)

    what = f"One {call_type} call (up to 32 KB)" if call_type else "A batch (up to 500 KB)"
    endpoint.__doc__ = f"{what}: Segment's HTTP Tracking API, as sent by its SDKs."
    return endpoint


router.add_api_route(
    "/v1/batch",
    _endpoint(None),
    methods=["POST"],
    name="segment_batch",
    openapi_extra=examples("segment_batch"),
)
for _call in KINDS:
    router.add_api_route(
        f"/v1/{_call}",
        _endpoint(_call),
        methods=["POST"],
        name=f"segment_{_call}",
        openapi_extra=examples("segment_call"),
    )


def _browser_endpoint(
    call_type: str | None, what: str
) -> Callable[[Request], Awaitable[JsonResponse]]:
    endpoint = _endpoint(call_type)
    endpoint.__doc__ = (
        f"{what} from a browser: `text/plain` (or JSON) with `writeKey` in the body, as "
        "analytics.js and `navigator.sendBeacon` send it; CORS for THREADLINE_CORS_ORIGINS."
    )
    return endpoint


#: (path, call type or None for a batch, what it takes, route name, OpenAPI example).
BROWSER_ROUTES: Final[list[tuple[str, str | None, str, str, str | None]]] = [
    ("/v1/b", None, "An analytics.js batch", "analytics_js_batch", "analytics_js_batch"),
    *(
        (f"/v1/{letter}", call, f"An analytics.js {call} call", f"analytics_js_{call}", None)
        for letter, call in SHORT_CALLS.items()
    ),
    (
        "/beacon/v1/batch",
        None,
        "A RudderStack JavaScript SDK beacon batch (`?writeKey=`)",
        "rudderstack_beacon_batch",
        "rudderstack_beacon",
    ),
]
for _path, _call_type, _what, _name, _example in BROWSER_ROUTES:
    router.add_api_route(
        _path,
        _browser_endpoint(_call_type, _what),
        methods=["POST"],
        name=_name,
        openapi_extra=examples(_example or _name, TEXT),
    )
