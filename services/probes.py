"""The worker's probe endpoint: liveness, readiness (database and broker) and Prometheus.

It runs on its own thread and event loop, so a busy Faust loop never delays a probe and
the worker module stays unaware of it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from concurrent.futures import Future

import faust
import structlog
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Gauge, generate_latest

from profile_store.deadletters import pending_depth
from profile_store.storage.engines import StoreEngine, database_reachable, make_async_engine
from profile_store.storage.errors import StoreUnavailable
from runtime.probes import ProbeServer, bootstrap_servers, tcp_reachable
from services.settings import WorkerSettings

log = structlog.get_logger("threadline.probes")
CHECK_TIMEOUT_S = 2.0
DEPTH_INTERVAL_S = 30.0

DEAD_LETTERS_PENDING = Gauge(
    "threadline_dead_letters_pending",
    "Dead letters stored and not yet replayed, by failing component (same on every worker).",
    ["component"],
)


class ProbeStartError(Exception):
    """The probe endpoint could not listen (e.g. its port is taken)."""


def render_metrics() -> tuple[bytes, str]:
    """The process-wide Prometheus registry in the text format."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


async def refresh_dead_letter_depth(engine: StoreEngine) -> dict[str, int]:
    """Set the pending dead-letter gauge from the dead-letter store; returns the counts."""
    counts = await pending_depth(engine)
    known = {labels[0] for labels in _gauge_labels()}
    for component in known - counts.keys():
        DEAD_LETTERS_PENDING.labels(component).set(0)
    for component, count in counts.items():
        DEAD_LETTERS_PENDING.labels(component).set(count)
    return counts


def _gauge_labels() -> list[tuple[str, ...]]:
    return [tuple(s.labels.values()) for m in DEAD_LETTERS_PENDING.collect() for s in m.samples]


async def _keep_depth_fresh(engine: StoreEngine) -> None:
    while True:
        try:
            await refresh_dead_letter_depth(engine)
        except StoreUnavailable as exc:  # the database being down is /readyz's job
            log.warning("dead_letter_depth_failed", error_type=type(exc.__cause__).__name__)
        await asyncio.sleep(DEPTH_INTERVAL_S)


def consuming_flag(app: faust.App) -> threading.Event:
    """An event set once the worker has joined its group and consumes: its first rebalance
    completed, with or without partitions (later rebalances do not clear it)."""
    consuming = threading.Event()

    @app.on_rebalance_complete.connect  # type: ignore[arg-type]
    async def _complete(app: faust.App, **_: object) -> None:
        if not consuming.is_set():
            log.info("worker_consuming")
        consuming.set()

    return consuming


async def _serve(settings: WorkerSettings, running: threading.Event, bound: Future[int]) -> None:
    engine = make_async_engine(settings.dsn, pool_size=1, max_overflow=0)
    servers = bootstrap_servers(settings.kafka_bootstrap)

    async def ready() -> Mapping[str, bool]:
        db_ok, kafka_ok = await asyncio.gather(
            database_reachable(engine, CHECK_TIMEOUT_S),
            tcp_reachable(servers, CHECK_TIMEOUT_S),
        )
        return {"worker": running.is_set(), "database": db_ok, "kafka": kafka_ok}

    server = ProbeServer(ready, render_metrics, check_timeout_s=CHECK_TIMEOUT_S * 2)
    try:
        bound.set_result(await server.start(settings.metrics_host, settings.metrics_port))
    except OSError as exc:
        bound.set_exception(ProbeStartError(f"cannot listen on the metrics port: {exc.strerror}"))
        await engine.dispose()
        return
    await _keep_depth_fresh(engine)  # serve until the process exits (daemon thread)


def start_worker_probes(settings: WorkerSettings, running: threading.Event) -> int | None:
    """Serve /healthz, /readyz and /metrics on the metrics port; None when it is 0.

    Ready means: `running` is set (see `consuming_flag`), and the database and a Kafka
    bootstrap server answer.
    """
    if not settings.metrics_port:
        return None
    bound: Future[int] = Future()
    threading.Thread(
        target=lambda: asyncio.run(_serve(settings, running, bound)), name="probes", daemon=True
    ).start()
    port = bound.result()
    log.info("probes_listening", host=settings.metrics_host, port=port)
    return port
