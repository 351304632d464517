"""The settings browser SDKs load before they send, pointing them at this gateway.

`@segment/analytics-next` loads `{cdnURL}/v1/projects/{writeKey}/settings` (so a site sets
only `cdnURL`); the RudderStack JavaScript SDK loads `{configUrl}/sourceConfig/?writeKey=`.
Both answer for browser keys only: a server key has no business in a web page, and is
refused there before it is shipped in one. No destinations, middleware or metrics are
configured, so the SDKs load nothing else and send only to the gateway.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final
from urllib.parse import urlsplit

from fastapi import APIRouter, Request

from ingest.gateway import get_gateway
from ingest.http import ApiError, JsonResponse, basic_auth_user
from ingest.keys import WriteKey
from ingest.openapi import response_example

router = APIRouter(tags=["web"])

#: Browsers may keep the settings this long (seconds); a key's trust change applies after it.
MAX_AGE_S: Final = 300
NOT_A_BROWSER_KEY: Final = "no browser write key has this value"


def segment_settings(write_key: str, base_url: str) -> dict[str, Any]:
    """Segment's CDN settings document for a browser key, sending to `base_url`/v1."""
    parts = urlsplit(base_url)
    api_host = f"{parts.netloc}{parts.path.rstrip('/')}/v1"
    return {
        "integrations": {
            "Segment.io": {
                "apiKey": write_key,
                "apiHost": api_host,
                "protocol": parts.scheme,
                "unbundledIntegrations": [],
                "addBundledMetadata": True,
                "maybeBundledConfigIds": {},
                "versionSettings": {"componentTypes": []},
            }
        },
        "plan": {
            "track": {"__default": {"enabled": True, "integrations": {}}},
            "identify": {"__default": {"enabled": True}},
            "group": {"__default": {"enabled": True}},
        },
        "edgeFunction": {},
        "analyticsNextEnabled": True,
        "middlewareSettings": {},
        "enabledMiddleware": {},
        "metrics": {"sampleRate": 0},
        "legacyVideoPluginsEnabled": False,
        "remotePlugins": [],
    }


def rudderstack_source_config(write_key: str) -> dict[str, Any]:
    """RudderStack's source configuration for a browser key: enabled, no destinations, no
    error or metrics reporting (they would go to RudderStack)."""
    source_id = "threadline-" + hashlib.sha256(write_key.encode()).hexdigest()[:16]
    return {
        "isHosted": False,
        "source": {
            "id": source_id,
            "name": "Threadline",
            "writeKey": write_key,
            "enabled": True,
            "deleted": False,
            "workspaceId": "threadline",
            "config": {
                "statsCollection": {"errors": {"enabled": False}, "metrics": {"enabled": False}}
            },
            "destinations": [],
        },
    }


def _browser_key(request: Request, candidate: str | None) -> WriteKey:
    key = get_gateway(request).write_keys.match(candidate.encode() if candidate else None)
    if key is None or not key.is_browser:
        raise ApiError(404, "not_found", NOT_A_BROWSER_KEY)
    return key


def _base_url(request: Request) -> str:
    configured = get_gateway(request).settings.public_url
    return configured if configured is not None else str(request.base_url)


def _cached(document: dict[str, Any]) -> JsonResponse:
    return JsonResponse(document, headers={"Cache-Control": f"private, max-age={MAX_AGE_S}"})


@router.get(
    "/v1/projects/{write_key}/settings",
    name="analytics_js_settings",
    responses=response_example(
        "The settings analytics.js loads", segment_settings("<browser key>", "https://gw/")
    ),
)
async def analytics_js_settings(request: Request, write_key: str) -> JsonResponse:
    """What `@segment/analytics-next` loads from its `cdnURL`: send to this gateway."""
    _browser_key(request, write_key)
    return _cached(segment_settings(write_key, _base_url(request)))


@router.get(
    "/sourceConfig",
    name="rudderstack_source_config",
    responses=response_example(
        "The source configuration the RudderStack SDK loads",
        rudderstack_source_config("<browser key>"),
    ),
)
@router.get("/sourceConfig/", include_in_schema=False)
async def source_config(request: Request) -> JsonResponse:
    """What the RudderStack JavaScript SDK loads from its `configUrl` (`writeKey` in the
    query, or the HTTP Basic user): enabled, no destinations."""
    given = request.query_params.get("writeKey")
    if given is None:
        basic = basic_auth_user(request)
        given = basic.decode(errors="replace") if basic is not None else None
    _browser_key(request, given)
    assert given is not None
    return _cached(rudderstack_source_config(given))
