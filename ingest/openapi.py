"""The gateway's OpenAPI: a real vendor example per route, and the errors every route answers."""

from __future__ import annotations

from typing import Any, Final

from ingest.browser_examples import BROWSER_EXAMPLES
from ingest.http import INVALID_INPUT
from ingest.openapi_examples import EXAMPLES

JSON: Final = "application/json"
#: What browsers send (no CORS preflight for a beacon): JSON text declared `text/plain`.
TEXT: Final = "text/plain"

_ERROR_SCHEMA: Final = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}


def _error(description: str, example_code: str, example_message: str) -> dict[str, Any]:
    example = {"error": {"code": example_code, "message": example_message}}
    return {
        "description": description,
        "content": {JSON: {"schema": _ERROR_SCHEMA, "example": example}},
    }


#: What every ingest route may answer besides success (documented on each operation).
ERROR_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    INVALID_INPUT: _error(
        "Invalid input, on every route: a malformed body, or a payload that is not a valid "
        "event (the message names the field). Nothing of it is published.",
        "invalid_event",
        "event_data.score: 11 is outside the scale 0 to 10",
    ),
    401: _error(
        "Missing or wrong write key, or a vendor signature that does not match.",
        "invalid_signature",
        "X-Shopify-Hmac-Sha256 does not match the request",
    ),
    403: _error(
        "A browser write key on a route that only takes server keys, or a page of an origin "
        "not in THREADLINE_CORS_ORIGINS.",
        "browser_key_refused",
        "a browser write key is public: it may send only to the analytics.js and Segment "
        "routes (/v1/...); use a server key here",
    ),
    413: _error(
        "The body, an item, or an event it maps to is over its size limit (named).",
        "payload_too_large",
        "request body is over the 1024 KB limit",
    ),
    415: _error(
        "Wrong Content-Type or Content-Encoding.",
        "unsupported_media_type",
        "Content-Type must be application/json",
    ),
    503: _error(
        "The broker did not acknowledge (retry later), or a signed route's secret is not set.",
        "broker_unavailable",
        "the event broker did not acknowledge the events; retry later",
    ),
}


def response_example(description: str, example: dict[str, Any]) -> dict[int | str, Any]:
    """`responses` of a GET route: its 200 answer with an example."""
    return {
        200: {
            "description": description,
            "content": {JSON: {"schema": {"type": "object"}, "example": example}},
        }
    }


def examples(key: str, media_type: str = JSON) -> dict[str, Any]:
    """`openapi_extra` of a route: its request body as the vendor sends it, with an example."""
    example = EXAMPLES[key] if key in EXAMPLES else BROWSER_EXAMPLES[key]
    schema: dict[str, Any] = {"type": "string"} if isinstance(example, str) else {"type": "object"}
    if isinstance(example, list):
        schema = {"type": "array"}
    return {
        "requestBody": {
            "required": True,
            "content": {media_type: {"schema": schema, "example": example}},
        }
    }
