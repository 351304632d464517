"""HTTP helpers shared by every channel's transport: JSON errors, capped and gzip-aware bodies."""

from __future__ import annotations

import zlib
from base64 import b64decode
from collections.abc import AsyncGenerator, Mapping
from typing import Any, Final

import orjson
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from ingest import IngestError

GZIP_WBITS: Final = 16 + zlib.MAX_WBITS
#: The one status every route answers for input it cannot accept (malformed or invalid).
INVALID_INPUT: Final = 400
MAX_FORM_FILES: Final = 100
_JSON_TYPES: Final = ("application/json", "text/plain")


class JsonResponse(Response):
    """A JSON response rendered with orjson."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Encode `content` with orjson."""
        return orjson.dumps(content)


class ApiError(IngestError):
    """A request the gateway refuses: HTTP status, machine-readable code, human message."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JsonResponse:
    """The one error shape: `{"error": {"code": ..., "message": ...}}`."""
    return JsonResponse({"error": {"code": code, "message": message}}, status, headers)


def invalid(code: str, message: str) -> ApiError:
    """The refusal of input that is malformed or not a valid event (`INVALID_INPUT`)."""
    return ApiError(INVALID_INPUT, code, message)


def too_large(limit: int) -> ApiError:
    """413 for a body over `limit` bytes."""
    return ApiError(413, "payload_too_large", f"request body is over the {limit // 1024} KB limit")


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, decompressed if gzip, refused (413) past `limit` bytes either way.

    The cap applies while reading, so an oversized or endless body is never buffered, and
    while inflating, so a small gzip bomb is refused after `limit` output bytes.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise ApiError(415, "unsupported_encoding", "Content-Encoding must be gzip or identity")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            chunks.append(chunk)
    except ClientDisconnect:
        raise invalid("client_disconnected", "the client went away mid-body") from None
    raw = b"".join(chunks)
    return _gunzip(raw, limit) if encoding == "gzip" else raw


def _gunzip(raw: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(GZIP_WBITS)
    try:
        data = inflater.decompress(raw, limit + 1)
    except zlib.error:
        raise invalid("invalid_gzip", "body is not valid gzip data") from None
    if len(data) > limit or inflater.unconsumed_tail:
        raise too_large(limit)
    if not inflater.eof:
        raise invalid("invalid_gzip", "gzip body is truncated")
    return data


def require_json_content_type(request: Request) -> None:
    """415 unless the body is declared as JSON (`text/plain` is allowed: browser beacons)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not (media in _JSON_TYPES or media.endswith("+json")):
        raise ApiError(415, "unsupported_media_type", "Content-Type must be application/json")


def parse_json(body: bytes) -> Any:
    """Decode a JSON body or raise 400 `invalid_json`."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise invalid("invalid_json", f"body is not valid JSON: {exc.msg}") from None


def basic_auth_user(request: Request) -> bytes | None:
    """The user part of an `Authorization: Basic` header, None if absent; 401 if malformed."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        raise ApiError(401, "unauthorized", "Authorization must be Basic with the write key")
    try:
        decoded = b64decode(value.strip(), validate=True)
    except ValueError:
        raise ApiError(401, "unauthorized", "Authorization header is not valid Basic") from None
    return decoded.partition(b":")[0]


async def parse_form(
    request: Request, raw: bytes, max_part_bytes: int
) -> tuple[dict[str, str], list[str]]:
    """A `multipart/form-data` or urlencoded body already read: its text fields (first value
    of each) and the file names of its file parts; 415 for other types, 400 if malformed."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()

    async def chunks() -> AsyncGenerator[bytes, None]:
        yield raw

    parser: MultiPartParser | FormParser
    if media == "multipart/form-data":
        parser = MultiPartParser(
            request.headers, chunks(), max_files=MAX_FORM_FILES, max_part_size=max_part_bytes
        )
    elif media == "application/x-www-form-urlencoded":
        parser = FormParser(request.headers, chunks(), max_part_size=max_part_bytes)
    else:
        raise ApiError(
            415,
            "unsupported_media_type",
            "Content-Type must be multipart/form-data or application/x-www-form-urlencoded",
        )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise invalid("invalid_form", f"body is not valid form data: {exc.message}") from None
    fields: dict[str, str] = {}
    files: list[str] = []
    for key, value in form.multi_items():
        if isinstance(value, str):
            fields.setdefault(key, value)
        else:
            files.append(" ".join((value.filename or key).split())[:200] or key)
    await form.close()
    return fields, files
