"""Request examples of the browser routes, as `@segment/analytics-next` 1.84 (npm) and the
RudderStack JavaScript SDK 3.34 send them (bodies captured from the SDKs in Chromium against
the gateway, ids and times replaced)."""

from __future__ import annotations

from typing import Any, Final

import orjson

from ingest.keys import DEV_VERIFICATION_SECRET
from ingest.web.verification import user_hash

_PAGE: Final = {
    "path": "/account",
    "referrer": "https://shop.example.com/",
    "search": "",
    "title": "Your account",
    "url": "https://shop.example.com/account",
}
_CONTEXT: Final = {
    "library": {"name": "analytics.js", "version": "npm:next-1.84.3"},
    "locale": "en-US",
    "page": _PAGE,
    "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/138.0 Safari/537.36",
}
_ANONYMOUS: Final = "8c2d47a0-0d7e-4f4a-9a52-6f3c1f0b2e11"
_METADATA: Final = {"bundled": ["Segment.io"], "unbundled": [], "bundledIds": []}


def _ajs(call: str, n: int, **fields: Any) -> str:
    """One analytics.js message, as the text/plain body it is sent in."""
    message = {
        "timestamp": "2024-11-23T08:40:00.000Z",
        "integrations": {},
        "type": call,
        "messageId": f"ajs-next-1732351200000-5f0e8d2c-1b7a-4c3e-8d9f-0a1b2c3d4e{n:02d}",
        "context": _CONTEXT,
        **fields,
        "anonymousId": _ANONYMOUS,
        "writeKey": "<browser write key>",
        "sentAt": "2024-11-23T08:40:00.210Z",
        "_metadata": _METADATA,
    }
    return orjson.dumps(message).decode()


BROWSER_EXAMPLES: Final[dict[str, Any]] = {
    "analytics_js_page": _ajs("page", 1, properties=_PAGE, userId=None),
    "analytics_js_track": _ajs(
        "track", 2, event="Product Viewed", properties={"sku": "JKT-7"}, userId=None
    ),
    "analytics_js_identify": _ajs(
        "identify",
        3,
        userId="cust-1042",
        traits={"email": "maria.lopez@example.com", "name": "Maria Lopez"},
        context={
            **_CONTEXT,
            # Computed by the site's backend: HMAC-SHA256(verification secret, "cust-1042"),
            # here with the dev secret.
            "user_hash": user_hash(DEV_VERIFICATION_SECRET.encode(), "cust-1042"),
        },
    ),
    "analytics_js_alias": _ajs("alias", 4, userId="cust-1042", previousId=_ANONYMOUS),
    "analytics_js_group": _ajs(
        "group", 5, userId="cust-1042", groupId="acme", traits={"name": "Acme Ltd"}
    ),
    "analytics_js_screen": _ajs("screen", 6, name="Checkout", userId=None),
    "analytics_js_batch": orjson.dumps(
        {
            "writeKey": "<browser write key>",
            "batch": [orjson.loads(_ajs("page", 7, properties=_PAGE, userId=None))],
            "sentAt": "2024-11-23T08:40:01.000Z",
        }
    ).decode(),
    "rudderstack_beacon": orjson.dumps(
        {
            "batch": [
                {
                    "type": "track",
                    "event": "Checkout Started",
                    "properties": {"revenue": 59.9},
                    "anonymousId": _ANONYMOUS,
                    "channel": "web",
                    "context": {"library": {"name": "RudderLabs JavaScript SDK"}},
                    "messageId": "b6e1f9d2-3c4a-4e5f-8a9b-0c1d2e3f4a5b",
                    "originalTimestamp": "2024-11-23T08:41:00.000Z",
                    "integrations": {"All": True},
                    "sentAt": "2024-11-23T08:41:00.150Z",
                }
            ],
            "sentAt": "2024-11-23T08:41:00.150Z",
        }
    ).decode(),
}
