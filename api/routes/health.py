"""Liveness, readiness (database and Kafka bootstrap reachable) and Prometheus metrics routes."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Literal

import structlog
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict

from api.deps import SettingsDep
from api.errors import OrjsonResponse, error_response, responses
from api.middleware import Metrics
from api.settings import ApiSettings
from profile_store.deadletters import pending_depth
from profile_store.storage import engines as db
from profile_store.storage.engines import StoreEngine
from profile_store.storage.errors import StoreRefused, StoreUnavailable
from runtime.probes import tcp_reachable

log = structlog.get_logger()
router = APIRouter(tags=["operations"])

CheckState = Literal["ok", "down"]


class Health(BaseModel):
    """Liveness answer."""

    model_config = ConfigDict(frozen=True)

    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    """Readiness answer: each dependency's state."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [{"status": "ready", "checks": {"database": "ok", "kafka": "ok"}}]
        },
    )

    status: Literal["ready"] = "ready"
    checks: dict[str, CheckState]


async def database_reachable(engine: StoreEngine | None, seconds: float) -> bool:
    """True if `SELECT 1` succeeds within `seconds`."""
    if engine is not None and await db.database_reachable(engine, seconds):
        return True
    log.warning("readiness_database_down")
    return False


async def dead_letter_depth(engine: StoreEngine | None, seconds: float) -> dict[str, int] | None:
    """Pending dead letters per component, or None when the database does not answer."""
    if engine is None:
        return None
    try:
        async with asyncio.timeout(seconds):
            return await pending_depth(engine)
    except (TimeoutError, StoreUnavailable, StoreRefused) as exc:
        log.warning("metrics_database_down", error_type=type(exc.__cause__ or exc).__name__)
        return None


async def kafka_reachable(servers: Sequence[tuple[str, int]], seconds: float) -> bool:
    """True if any bootstrap server accepts a TCP connection within `seconds`."""
    if await tcp_reachable(servers, seconds):
        return True
    log.warning("readiness_kafka_down", servers=len(servers))
    return False


@router.get("/healthz", response_model=Health, summary="Liveness: the process answers")
async def healthz() -> Health:
    """Always 200 while the process serves requests."""
    return Health()


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Readiness: database and Kafka bootstrap reachable",
    responses=responses(503, described={503: "A dependency is down (named)."}),
)
async def readyz(request: Request, settings: SettingsDep) -> Readiness | OrjsonResponse:
    """200 only if the database answers `SELECT 1` and a Kafka bootstrap server accepts TCP."""
    engine: StoreEngine | None = getattr(request.app.state, "engine", None)
    db_ok, kafka_ok = await asyncio.gather(
        database_reachable(engine, settings.readiness_timeout),
        kafka_reachable(settings.bootstrap_servers, settings.readiness_timeout),
    )
    checks: dict[str, CheckState] = {
        "database": "ok" if db_ok else "down",
        "kafka": "ok" if kafka_ok else "down",
    }
    down = [name for name, state in checks.items() if state == "down"]
    if down:
        message = f"not ready: {' and '.join(down)} unreachable"
        return error_response(503, "not_ready", message, checks=checks)
    return Readiness(checks=checks)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus exposition."}},
)
async def metrics(request: Request) -> Response:
    """Request latency by route template, method and status; dead-letter depth."""
    registry: Metrics = request.app.state.metrics
    settings: ApiSettings = request.app.state.settings
    depth = await dead_letter_depth(request.app.state.engine, settings.readiness_timeout)
    if depth is not None:
        registry.dead_letters.clear()
        for component, count in depth.items():
            registry.dead_letters.labels(component).set(count)
    body, content_type = registry.render()
    return Response(content=body, media_type=content_type)
