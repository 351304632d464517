"""HTTP transport of the store adapter: Shopify webhooks (every topic) and till receipts."""

from __future__ import annotations

from typing import Final

import structlog
from fastapi import APIRouter, Request

from ingest.gateway import get_gateway, publish_events, refusing_invalid, require_write_key
from ingest.http import JsonResponse, invalid, parse_json, read_body, require_json_content_type
from ingest.openapi import examples
from ingest.signatures import matches, require_signature, shopify_signature
from ingest.store import receipts, shopify, shopify_topics
from schemas.events import utc_now

log = structlog.get_logger()

router = APIRouter(tags=["store"])

_HEADER_MAX: Final = 256
#: The alias kept for webhooks registered before `/store/shopify` took every topic.
ORDERS_ALIAS: Final = "/store/shopify/orders"


def _header(request: Request, name: str) -> str | None:
    value = request.headers.get(name)
    if value is None or not value.strip():
        return None
    return value.strip()[:_HEADER_MAX]


def verify_shopify(request: Request, body: bytes) -> None:
    """`X-Shopify-Hmac-Sha256` with THREADLINE_SHOPIFY_WEBHOOK_SECRET (401 / dev mode / 503)."""
    given = request.headers.get("x-shopify-hmac-sha256")
    require_signature(
        request,
        get_gateway(request).settings.shopify_webhook_secret,
        "THREADLINE_SHOPIFY_WEBHOOK_SECRET",
        "X-Shopify-Hmac-Sha256",
        lambda secret: matches(given, [shopify_signature(secret, body)]),
    )


@router.post("/store/shopify", name="shopify_webhook", openapi_extra=examples("shopify"))
@router.post(ORDERS_ALIAS, name="shopify_orders", openapi_extra=examples("shopify"))
async def shopify_webhook(request: Request) -> JsonResponse:
    """A Shopify webhook of any topic (by `X-Shopify-Topic`); topics not mapped get 200."""
    received_at = utc_now()
    raw = await read_body(request, shopify.MAX_BODY_BYTES)
    verify_shopify(request, raw)
    require_json_content_type(request)
    topic = _header(request, "x-shopify-topic")
    if topic is None:
        if request.url.path != ORDERS_ALIAS:
            raise invalid("invalid_event", "X-Shopify-Topic: is required")
        topic = "orders/updated"  # the alias took order payloads without a topic
    body = parse_json(raw)
    with refusing_invalid():
        delivery = shopify_topics.Delivery(
            shop_domain=_header(request, "x-shopify-shop-domain"),
            webhook_id=_header(request, "x-shopify-webhook-id"),
            triggered_at=_header(request, "x-shopify-triggered-at"),
        )
        region = get_gateway(request).settings.default_region
        events = shopify_topics.map_webhook(topic, body, received_at, region, delivery)
    if not events:
        log.info("shopify_topic_ignored", topic=topic[:60])
        return JsonResponse({"accepted": 0, "ignored": f"topic {topic[:60]} is not mapped"})
    await publish_events(request, events)
    log.info("shopify_accepted", kind=events[0].kind, event_id=events[0].event_id)
    return JsonResponse({"accepted": len(events)})


@router.post("/store/receipts", name="store_receipts", openapi_extra=examples("store_receipts"))
async def store_receipts(request: Request) -> JsonResponse:
    """Generic till receipts (one JSON object or a list), write-key authenticated."""
    received_at = utc_now()
    require_write_key(request)
    raw = await read_body(request, receipts.MAX_BODY_BYTES)
    require_json_content_type(request)
    body = parse_json(raw)
    with refusing_invalid():
        events = receipts.map_receipts(
            body, received_at, get_gateway(request).settings.default_region
        )
    await publish_events(request, events)
    log.info("receipts_accepted", events=len(events))
    return JsonResponse({"accepted": len(events)})
