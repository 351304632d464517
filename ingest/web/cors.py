"""CORS for the browser routes only: pages of `THREADLINE_CORS_ORIGINS` may post events and
load the SDK settings; preflights are cached, credentials never needed (the write key is in
the body or a header). Other routes take webhooks from servers and answer no preflight."""

from __future__ import annotations

from typing import Final

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from ingest.origins import Origins

#: Where analytics.js, its settings, and the RudderStack SDK and its config and beacons go.
BROWSER_PREFIXES: Final = ("/v1/", "/sourceConfig", "/beacon/")
#: How long a browser may reuse a preflight answer (Chromium caps it at 2 hours).
PREFLIGHT_MAX_AGE_S: Final = 7200


class BrowserCors:
    """Starlette's CORS middleware, on the browser routes of the gateway."""

    def __init__(self, app: ASGIApp, origins: Origins) -> None:
        self.app = app
        regex = origins.regex()
        self.cors: ASGIApp = (
            app
            if regex is None
            else CORSMiddleware(
                app,
                allow_origin_regex=regex,
                allow_methods=["GET", "POST"],
                # The SDKs' headers: Content-Type, Authorization, X-Retry-Count (analytics.js),
                # AnonymousId (RudderStack): what a preflight asks for is what it gets.
                allow_headers=["*"],
                allow_credentials=False,
                expose_headers=["X-Request-ID", "Retry-After"],
                max_age=PREFLIGHT_MAX_AGE_S,
            )
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        browser = scope["type"] == "http" and scope["path"].startswith(BROWSER_PREFIXES)
        await (self.cors if browser else self.app)(scope, receive, send)
