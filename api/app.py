"""The FastAPI application factory: routes, auth, error handlers, middleware and lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import metadata
from typing import Final

import structlog
from fastapi import FastAPI

from api import ApiConfigError
from api.auth import KeyRing
from api.console import install_console
from api.errors import OrjsonResponse, install_error_handlers
from api.middleware import Metrics, RequestContextMiddleware
from api.ratelimit import RateLimiter, document_rate_limit
from api.routes import ROUTERS, stream
from api.security import BodyLimitMiddleware, SecurityHeadersMiddleware
from api.settings import ApiSettings
from profile_store.storage.driver import ReadPool, make_read_pool
from profile_store.storage.engines import StoreEngine, make_async_engine
from runtime.docs import install_offline_docs

log = structlog.get_logger()

TITLE: Final = "Threadline unified view API"
DESCRIPTION: Final = (
    "One customer across web, chat, email, call centre, store and surveys. Look a customer up "
    "by any identifier in any format (or search by identifier or name), then read the profile, "
    "its summary and the timeline, newest first, and follow it live over Server-Sent Events. "
    'Send `Authorization: Bearer <key>`; errors are `{"error": {"code", "message"}}`.'
)


def _version() -> str:
    try:
        return metadata.version("threadline")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0.0.0"


def _database_url(settings: ApiSettings, engine: StoreEngine) -> str:
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    return engine.url.render_as_string(hide_password=False)


def create_app(settings: ApiSettings, engine: StoreEngine | None = None) -> FastAPI:
    """Build the API. With `engine`, the caller owns it; else the lifespan creates and disposes
    one from `settings.database_url`. The lifespan also opens and closes the pool of the
    agent's hot reads (`profile_store.storage.driver`), on the same database."""
    if engine is None and settings.database_url is None:
        raise ApiConfigError("database_url is not set and no engine was given")
    keyring = KeyRing(settings.effective_api_keys())
    if not len(keyring):
        raise ApiConfigError("no API keys are configured")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Both are left alone if an outer lifespan (or the caller) already provided them.
        owned: StoreEngine | None = None
        if getattr(app.state, "engine", None) is None:
            assert settings.database_url is not None
            owned = make_async_engine(
                settings.database_url.get_secret_value(),
                pool_size=settings.db_pool_size,
                pre_ping=False,
            )
            app.state.engine = owned
        own_reads: ReadPool | None = None
        if getattr(app.state, "read_pool", None) is None:
            own_reads = make_read_pool(
                _database_url(settings, app.state.engine),
                size=settings.db_pool_size,
                timeout_s=settings.db_wait,
                name="api-reads",
            )
            await own_reads.open(wait=False)  # the API starts even while the database is down
            app.state.read_pool = own_reads
        log.info("api_started", dev_mode=settings.dev_mode, keys=len(keyring))
        try:
            yield
        finally:
            if own_reads is not None:
                app.state.read_pool = None
                await own_reads.close()
            if owned is not None:
                app.state.engine = None
                await owned.dispose()
            log.info("api_stopped")

    app = FastAPI(
        title=TITLE,
        description=DESCRIPTION,
        version=_version(),
        lifespan=lifespan,
        default_response_class=OrjsonResponse,
        docs_url=None,  # served from the package below: FastAPI's load from a CDN
        redoc_url=None,
        # No automatic OTLP export, and no exception-message logs (they may carry PII).
        telemetry={"auto_configure": False, "logs": False},
    )
    app.state.settings = settings
    app.state.keyring = keyring
    app.state.metrics = Metrics()
    app.state.engine = engine
    app.state.read_pool = None
    app.state.streams = stream.StreamCount()
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst)
    install_error_handlers(app)
    # Starlette runs the last added outermost: headers on everything, even last-resort 500s.
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_request_bytes)
    app.add_middleware(RequestContextMiddleware, metrics=app.state.metrics)
    app.add_middleware(SecurityHeadersMiddleware)
    for router in ROUTERS:
        app.include_router(router)
    install_console(app)
    install_offline_docs(app, TITLE)
    document_rate_limit(app)
    return app
