"""Webhook signature schemes, each as its vendor documents it, and the check every route runs.

Pure functions compute what the vendor sends; `require_signature` is the transport's rule:
with the secret configured a missing or wrong signature is 401; without it the route
works in dev mode only and answers 503 `not_configured` otherwise, so a production
gateway never accepts unsigned webhooks by accident.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr
from starlette.requests import Request

from ingest.gateway import get_gateway
from ingest.http import ApiError


def _hmac_sha256(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def twilio_signature(token: bytes, url: str, pairs: Iterable[tuple[str, str]]) -> str:
    """Twilio's `X-Twilio-Signature`: base64 HMAC-SHA1 of the URL, then each parameter's key
    and value, keys sorted (a repeated key's values sorted too), no separators."""
    by_key: dict[str, list[str]] = {}
    for key, value in pairs:
        by_key.setdefault(key, []).append(value)
    data = url + "".join(k + v for k in sorted(by_key) for v in sorted(by_key[k]))
    return base64.b64encode(hmac.new(token, data.encode(), hashlib.sha1).digest()).decode()


def twilio_urls(url: str) -> list[str]:
    """The URL as given, without its port and with the scheme's default port added.

    Twilio's own validators accept either, since its signing side is not consistent.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    default = 443 if parts.scheme == "https" else 80
    try:
        port = parts.port
    except ValueError:
        return [url]
    without = urlunsplit(parts._replace(netloc=host))
    with_port = urlunsplit(parts._replace(netloc=f"{host}:{port or default}"))
    return list(dict.fromkeys([url, without, with_port]))


def shopify_signature(secret: bytes, body: bytes) -> str:
    """`X-Shopify-Hmac-Sha256`: base64 of HMAC-SHA256(app secret, raw body)."""
    return base64.b64encode(_hmac_sha256(secret, body)).decode()


def typeform_signature(secret: bytes, body: bytes) -> str:
    """`Typeform-Signature`: `sha256=` + base64 of HMAC-SHA256(webhook secret, raw body)."""
    return "sha256=" + base64.b64encode(_hmac_sha256(secret, body)).decode()


def delighted_signature(secret: bytes, body: bytes) -> str:
    """`X-Delighted-Webhook-Signature`: `sha256=` + hex HMAC-SHA256(API key, raw body)."""
    return "sha256=" + _hmac_sha256(secret, body).hex()


def mailgun_signature(signing_key: bytes, timestamp: str, token: str) -> str:
    """Mailgun's `signature` field: hex HMAC-SHA256(webhook signing key, timestamp + token)."""
    return _hmac_sha256(signing_key, (timestamp + token).encode()).hex()


def matches(given: str | None, expected: Iterable[str]) -> bool:
    """Constant-time comparison of a received signature against each acceptable one."""
    if not given:
        return False
    found = False
    for candidate in expected:
        found |= hmac.compare_digest(given.strip().encode(), candidate.encode())
    return found


def require_signature(
    request: Request,
    secret: SecretStr | None,
    setting: str,
    what: str,
    is_valid: Callable[[bytes], bool],
) -> None:
    """401 unless `is_valid(secret)`; without a secret: dev mode passes, else 503.

    `setting` names the environment variable, `what` the signature being checked.
    """
    if secret is None:
        if get_gateway(request).settings.dev_mode:
            return
        raise ApiError(503, "not_configured", f"{setting} is not set: {what} cannot be verified")
    if not is_valid(secret.get_secret_value().encode()):
        raise ApiError(401, "invalid_signature", f"{what} does not match the request")
