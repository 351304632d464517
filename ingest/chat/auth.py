"""Request authentication for the chat and survey routes: write keys and Twilio signatures."""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from starlette.requests import Request

from ingest.chat.twilio import compute_signature, signature_urls
from ingest.gateway import get_gateway
from ingest.http import ApiError


def twilio_url(request: Request) -> str:
    """The URL Twilio signed: the configured public base URL + path (+ query), else as received."""
    base = get_gateway(request).settings.twilio_webhook_base_url
    if not base:
        return str(request.url)
    query = request.url.query
    return base.rstrip("/") + request.url.path + (f"?{query}" if query else "")


def verify_twilio(request: Request, pairs: Sequence[tuple[str, str]]) -> None:
    """Check `X-Twilio-Signature` (401 if wrong); without a token, dev mode only (else 503)."""
    settings = get_gateway(request).settings
    token = settings.twilio_auth_token
    if token is None:
        if settings.dev_mode:
            return
        raise ApiError(
            503,
            "not_configured",
            "THREADLINE_TWILIO_AUTH_TOKEN is not set: Twilio webhooks cannot be verified",
        )
    given = request.headers.get("x-twilio-signature", "").strip().encode()
    secret = token.get_secret_value().encode()
    matched = False
    for url in signature_urls(twilio_url(request)):
        expected = compute_signature(secret, url, pairs).encode()
        matched |= hmac.compare_digest(given, expected)
    if not given or not matched:
        raise ApiError(401, "invalid_signature", "X-Twilio-Signature does not match the request")
