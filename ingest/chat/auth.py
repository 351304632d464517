"""Twilio request authentication: `X-Twilio-Signature` over the URL Twilio called."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.requests import Request

from ingest.gateway import get_gateway
from ingest.signatures import matches, require_signature, twilio_signature, twilio_urls


def twilio_url(request: Request) -> str:
    """The URL Twilio signed: the configured public base URL + path (+ query), else as received."""
    base = get_gateway(request).settings.twilio_webhook_base_url
    if not base:
        return str(request.url)
    query = request.url.query
    return base.rstrip("/") + request.url.path + (f"?{query}" if query else "")


def verify_twilio(request: Request, pairs: Sequence[tuple[str, str]]) -> None:
    """Check `X-Twilio-Signature` (401 if wrong); without a token, dev mode only (else 503)."""
    given = request.headers.get("x-twilio-signature")

    def valid(token: bytes) -> bool:
        urls = twilio_urls(twilio_url(request))
        return matches(given, (twilio_signature(token, url, pairs) for url in urls))

    require_signature(
        request,
        get_gateway(request).settings.twilio_auth_token,
        "THREADLINE_TWILIO_AUTH_TOKEN",
        "X-Twilio-Signature",
        valid,
    )
