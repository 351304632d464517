"""Request context middleware: request ids, latency metrics, access logs, last-resort 500s."""

from __future__ import annotations

import re
import time
import uuid
from typing import Final

import structlog
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import internal_error_response

REQUEST_ID_HEADER: Final = "X-Request-ID"
_SAFE_REQUEST_ID: Final = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
#: Route label for requests that matched no route: the raw path may hold PII.
UNMATCHED: Final = "unmatched"
_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

log = structlog.get_logger()
#: Routes whose successful requests are logged at debug: static files and probes.
_QUIET_PREFIXES: Final = ("/static", "/favicon", "/healthz", "/readyz", "/metrics", "/docs-assets")


class Metrics:
    """The app's own Prometheus registry (one per app, so several apps can share a process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.latency = Histogram(
            "threadline_api_request_duration_seconds",
            "API request latency by route template, method and status.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.dead_letters = Gauge(
            "threadline_dead_letters_pending",
            "Dead letters not replayed yet, by failing component (read at scrape time).",
            ["component"],
            registry=self.registry,
        )

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def route_template(scope: Scope) -> str:
    """The matched route's template (`/v1/customers/{customer_id}`), never the raw path."""
    path: object = getattr(scope.get("route"), "path", None)
    if isinstance(path, str) and path:
        return path
    if scope.get("endpoint") is not None and not scope.get("path_params"):
        # A plain route without parameters (e.g. /openapi.json): its path is its template.
        return str(scope.get("path", UNMATCHED))
    return UNMATCHED


def request_id_from(scope: Scope) -> str:
    """The caller's X-Request-ID when it is a safe token, else a fresh one."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = bytes(value).decode("latin-1")
            if _SAFE_REQUEST_ID.match(text):
                return text
            break
    return uuid.uuid4().hex


class RequestContextMiddleware:
    """Pure ASGI middleware around every HTTP request (no body buffering)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Tag the request, time it, and turn an escaped exception into a JSON 500."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope)
        status = 500
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started, status = True, int(message["status"])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        began = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:  # the last line of defence: never leak details
            if started:
                log.error("response_interrupted", error_type=type(exc).__name__)
            else:
                await internal_error_response(exc)(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - began
            route = route_template(scope)
            method = str(scope.get("method", "GET"))
            method = method if method in _METHODS else "OTHER"
            self.metrics.latency.labels(method=method, route=route, status=str(status)).observe(
                elapsed
            )
            quiet = route.startswith(_QUIET_PREFIXES) and status < 400
            (log.debug if quiet else log.info)(
                "request",
                method=method,
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )
            structlog.contextvars.clear_contextvars()
