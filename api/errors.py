"""Errors in one place: orjson responses, the API's error classes, the handlers that turn every
failure into `{"error": {code, message}}` (the store's own exceptions included), and the error
responses each router documents.

Handlers never log or echo request values: identifiers in queries and paths are PII.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping, Sequence
from typing import Any, Final

import orjson
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import ApiError
from profile_store import ProfileStoreError
from profile_store.read.errors import InvalidCursor, InvalidQuery
from profile_store.storage.errors import IdentityBusy, StoreUnavailable
from schemas import InvalidIdentifier

log = structlog.get_logger()

_HTTP_CODES: Final = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
}
#: What each status means wherever a router does not say more (`responses`).
_DESCRIBED: Final[dict[int, str]] = {
    400: "A parameter is not valid here (named in the message).",
    401: "Missing or invalid API key.",
    403: "The key's role does not allow this.",
    404: "Unknown customer.",
    409: "Not possible in the current state (named).",
    422: "A parameter is invalid (named in the message).",
    503: "The database is unavailable.",
}


class OrjsonResponse(JSONResponse):
    """A JSON response rendered with orjson (UTC datetimes, non-string dict keys)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Serialise `content` with orjson."""
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


class ErrorDetail(BaseModel):
    """What went wrong: a stable machine code and a human message."""

    model_config = ConfigDict(frozen=True)

    code: str
    message: str


class ErrorBody(BaseModel):
    """The body of every error response."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [{"error": {"code": "not_found", "message": "customer not found"}}]
        },
    )

    error: ErrorDetail


class NotFound(ApiError):
    """The customer, identifier or route does not exist (404)."""

    status_code = 404
    code = "not_found"


class Conflict(ApiError):
    """The request conflicts with the current state (409)."""

    status_code = 409
    code = "conflict"


class ServiceUnavailable(ApiError):
    """A dependency (database, broker) is unreachable (503)."""

    status_code = 503
    code = "unavailable"


def responses(
    *statuses: int, described: Mapping[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI error responses of a router or route: each status with the error body and
    its usual description, or the one `described` gives it."""
    told = {**_DESCRIBED, **(described or {})}
    return {status: {"model": ErrorBody, "description": told[status]} for status in statuses}


def error_response(
    status: int,
    code: str,
    message: str,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> OrjsonResponse:
    """An error response in the contract's shape; `extra` adds top-level keys."""
    return OrjsonResponse(
        {"error": {"code": code, "message": message}, **extra}, status_code=status, headers=headers
    )


def describe_validation(errors: Sequence[Any], limit: int = 3) -> str:
    """`query.limit: Input should be ...; ...`: names each parameter, never its value."""
    parts = []
    for err in list(errors)[:limit]:
        where = ".".join(str(p) for p in err.get("loc", ())) or "request"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    if len(errors) > limit:
        parts.append(f"and {len(errors) - limit} more")
    return "; ".join(parts) or "invalid request"


def internal_error_response(exc: BaseException) -> OrjsonResponse:
    """Log an unexpected failure by type and code location only, and answer a bare 500."""
    log.error(
        "unhandled_error",
        error_type=type(exc).__name__,
        traceback="".join(traceback.format_tb(exc.__traceback__)),
    )
    return error_response(500, "internal_error", "internal server error")


async def _api_error(request: Request, exc: Exception) -> OrjsonResponse:
    assert isinstance(exc, ApiError)
    if exc.status_code >= 500:
        log.warning("request_failed", code=exc.code, status=exc.status_code)
    return error_response(exc.status_code, exc.code, exc.message, headers=exc.headers or None)


async def _http_error(request: Request, exc: Exception) -> OrjsonResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    if exc.status_code == 404:
        message = "no such route"
    elif exc.status_code == 405:
        message = f"method {request.method} is not allowed here"
    else:
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return error_response(exc.status_code, code, message, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> OrjsonResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(422, "validation_error", describe_validation(exc.errors()))


async def _invalid_identifier(request: Request, exc: Exception) -> OrjsonResponse:
    return error_response(400, "invalid_identifier", str(exc))


async def _store_error(request: Request, exc: Exception) -> OrjsonResponse:
    """The store's own exceptions (`profile_store.storage.errors`, `profile_store.read.errors`)."""
    if isinstance(exc, StoreUnavailable):
        cause = exc.__cause__ or exc
        log.warning("database_unavailable", error_type=type(cause).__name__)
        return error_response(503, "database_unavailable", "the database is unavailable")
    if isinstance(exc, IdentityBusy):
        return error_response(409, "conflict", "the customers kept changing; try again")
    if isinstance(exc, InvalidCursor):
        return error_response(400, "invalid_cursor", str(exc))
    if isinstance(exc, InvalidQuery):
        return error_response(400, "invalid_query", str(exc))
    return internal_error_response(exc)


def install_error_handlers(app: FastAPI) -> None:
    """Register the JSON error handlers (unexpected errors are caught by the middleware)."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(InvalidIdentifier, _invalid_identifier)
    app.add_exception_handler(ProfileStoreError, _store_error)
