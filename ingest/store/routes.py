"""HTTP transport of the store adapter: Shopify order webhooks and generic till receipts."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Final

import structlog
from fastapi import APIRouter, Request

from ingest.gateway import get_gateway, publish_events, require_write_key
from ingest.http import ApiError, JsonResponse, parse_json, read_body, require_json_content_type
from ingest.store import receipts, shopify
from schemas import InvalidEvent
from schemas.events import utc_now

log = structlog.get_logger()

router = APIRouter(tags=["store"])

_HEADER_MAX: Final = 256


def shopify_signature(secret: bytes, body: bytes) -> str:
    """What Shopify sends in `X-Shopify-Hmac-Sha256`: base64 of HMAC-SHA256(secret, raw body)."""
    return base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()


def verify_shopify(request: Request, body: bytes) -> None:
    """401 if the HMAC is wrong; 503 `not_configured` without a secret outside dev mode."""
    settings = get_gateway(request).settings
    secret = settings.shopify_webhook_secret
    if secret is None:
        if settings.dev_mode:
            return
        raise ApiError(
            503,
            "not_configured",
            "THREADLINE_SHOPIFY_WEBHOOK_SECRET is not set: Shopify webhooks cannot be verified",
        )
    given = request.headers.get("x-shopify-hmac-sha256", "").strip()
    expected = shopify_signature(secret.get_secret_value().encode(), body)
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise ApiError(401, "invalid_signature", "X-Shopify-Hmac-Sha256 does not match the body")


def _header(request: Request, name: str) -> str | None:
    value = request.headers.get(name)
    if value is None or not value.strip():
        return None
    return value.strip()[:_HEADER_MAX]


@router.post("/store/shopify/orders", name="shopify_orders")
async def shopify_orders(request: Request) -> JsonResponse:
    """Shopify `orders/create`, `orders/updated` (and other order-payload topics) webhooks."""
    received_at = utc_now()
    raw = await read_body(request, shopify.MAX_BODY_BYTES)
    verify_shopify(request, raw)
    require_json_content_type(request)
    order = parse_json(raw)
    try:
        event = shopify.map_order(
            order,
            received_at,
            get_gateway(request).settings.default_region,
            topic=_header(request, "x-shopify-topic"),
            webhook_id=_header(request, "x-shopify-webhook-id"),
            shop_domain=_header(request, "x-shopify-shop-domain"),
            triggered_at=_header(request, "x-shopify-triggered-at"),
        )
    except InvalidEvent as exc:
        raise ApiError(400, "invalid_event", str(exc)) from None
    await publish_events(request, [event])
    log.info("shopify_accepted", kind=event.kind, event_id=event.event_id)
    return JsonResponse({"accepted": 1})


@router.post("/store/receipts", name="store_receipts")
async def store_receipts(request: Request) -> JsonResponse:
    """Generic till receipts (one JSON object or a list), write-key authenticated."""
    received_at = utc_now()
    require_write_key(request)
    raw = await read_body(request, receipts.MAX_BODY_BYTES)
    require_json_content_type(request)
    body = parse_json(raw)
    try:
        events = receipts.map_receipts(
            body, received_at, get_gateway(request).settings.default_region
        )
    except InvalidEvent as exc:
        raise ApiError(400, "invalid_event", str(exc)) from None
    await publish_events(request, events)
    log.info("receipts_accepted", events=len(events))
    return JsonResponse({"accepted": len(events)})
