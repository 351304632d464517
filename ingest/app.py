"""FastAPI app factory of the ingest gateway: health, metrics, JSON errors, channel routes."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Final

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ingest.call_centre.routes import router as call_centre_router
from ingest.chat.routes import router as chat_router
from ingest.devcontrol import install_dev_control
from ingest.email.routes import router as email_router
from ingest.gateway import Gateway, get_gateway
from ingest.http import INVALID_INPUT, ApiError, JsonResponse, error_response
from ingest.metrics import IngestMetrics
from ingest.openapi import ERROR_RESPONSES
from ingest.publisher import KafkaPublisher, Publisher
from ingest.settings import IngestSettings
from ingest.store.routes import router as store_router
from ingest.surveys.routes import router as surveys_router
from ingest.web.cors import BrowserCors
from ingest.web.routes import router as web_router
from ingest.web.sdk_settings import router as sdk_settings_router
from runtime.docs import install_offline_docs

log = structlog.get_logger()

READY_TIMEOUT_S: Final = 2.0
_REQUEST_ID: Final = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_CODES: Final = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def create_app(settings: IngestSettings, publisher: Publisher | None = None) -> FastAPI:
    """The gateway app; without `publisher` it owns a `KafkaPublisher` for its lifespan."""
    owned = publisher is None
    active: Publisher = publisher or KafkaPublisher.from_settings(settings)
    metrics = IngestMetrics()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if isinstance(active, KafkaPublisher) and owned:
            await active.start()
            if settings.dev_control_dir is not None:
                install_dev_control(active, settings.dev_control_dir, "ingest")
        log.info("ingest_started", host=settings.host, port=settings.port)
        yield
        if owned:
            await active.close()
        log.info("ingest_stopped")

    app = FastAPI(
        title="Threadline ingest gateway",
        lifespan=lifespan,
        description=(
            "Channel systems' native payloads in, canonical events out to Kafka. Every route "
            f"answers {INVALID_INPUT} for input it cannot accept, with a JSON error naming "
            "the problem; 2xx only once the broker acknowledged every event."
        ),
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        default_response_class=JsonResponse,
    )
    app.state.gateway = Gateway(
        settings, active, metrics, settings.accepted_write_keys(), settings.browser_origins()
    )
    _add_error_handlers(app)
    app.add_middleware(BrowserCors, origins=settings.browser_origins())
    app.add_middleware(RequestContextMiddleware, metrics=metrics)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JsonResponse:
        return JsonResponse({"status": "ok"})

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JsonResponse:
        if await active.ready(READY_TIMEOUT_S):
            return JsonResponse({"status": "ready"})
        return error_response(503, "broker_unavailable", "the event broker is not reachable")

    @app.get("/metrics", include_in_schema=False)
    async def prometheus() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    for router in (
        web_router,
        sdk_settings_router,
        chat_router,
        email_router,
        call_centre_router,
        store_router,
        surveys_router,
    ):
        app.include_router(router, responses=ERROR_RESPONSES)
    install_offline_docs(app, app.title)
    return app


def _rejected(request: Request, status: int, code: str) -> None:
    get_gateway(request).metrics.rejected.labels(code).inc()
    log.info("request_rejected", status=status, code=code)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        _rejected(request, exc.status, exc.code)
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        code = _CODES.get(exc.status_code, f"http_{exc.status_code}")
        if exc.status_code == 404:
            message = f"no route {request.method} {request.url.path}"
        else:
            message = str(exc.detail) if exc.detail else HTTPStatus(exc.status_code).phrase
        _rejected(request, exc.status_code, code)
        return error_response(exc.status_code, code, message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        parts = [
            f"{'.'.join(str(p) for p in err.get('loc', ())) or 'request'}: {err.get('msg')}"
            for err in exc.errors()[:3]
        ]
        _rejected(request, INVALID_INPUT, "invalid_request")
        return error_response(INVALID_INPUT, "invalid_request", "; ".join(parts))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.error("unhandled_error", error_type=type(exc).__name__, exc_info=exc)
        return error_response(500, "internal_error", "internal error")


class RequestContextMiddleware:
    """Request ids (X-Request-ID echoed or generated, bound into structlog) and latency.

    Also the last line of defence: an unexpected exception becomes a 500 JSON error
    without details (they stay in the log, next to the request id).
    """

    def __init__(self, app: ASGIApp, metrics: IngestMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        status, started = 500, False
        begun = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as exc:
                log.error("unhandled_error", error_type=type(exc).__name__, exc_info=exc)
                if started:
                    raise
                response = error_response(500, "internal_error", "internal error")
                await response(scope, receive, send_with_id)
            finally:
                route = scope.get("route")
                template = getattr(route, "path", None) or "unmatched"
                self.metrics.request_latency.labels(scope["method"], template, str(status)).observe(
                    time.perf_counter() - begun
                )


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = bytes(value).decode("latin-1").strip()
            if _REQUEST_ID.match(text):
                return text
    return uuid.uuid4().hex
