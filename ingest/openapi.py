"""The gateway's OpenAPI: a real vendor example per route, and the errors every route answers."""

from __future__ import annotations

from typing import Any, Final

from ingest.http import INVALID_INPUT
from ingest.openapi_examples import EXAMPLES

JSON: Final = "application/json"

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


def examples(key: str, media_type: str = JSON) -> dict[str, Any]:
    """`openapi_extra` of a route: its request body as the vendor sends it, with an example."""
    example = EXAMPLES[key]
    schema: dict[str, Any] = {"type": "string"} if isinstance(example, str) else {"type": "object"}
    if isinstance(example, list):
        schema = {"type": "array"}
    return {
        "requestBody": {
            "required": True,
            "content": {media_type: {"schema": schema, "example": example}},
        }
    }
