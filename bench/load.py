"""HTTP load into the ingest gateway: saturation (closed loop) and paced (open loop) with
freshness markers, while sampling how many rows are queryable (consumer lag)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Coroutine, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

import httpx
import orjson
import psycopg

from bench import BenchError
from bench.journeys import JSON, SEGMENT, Request, page_marker
from bench.stack import AGENT_KEY, WRITE_KEY
from bench.stats import percentiles

T = TypeVar("T")


class Rows:
    """Counts timeline rows written since the counter was made (index range scan on `id`)."""

    def __init__(self, conn: psycopg.AsyncConnection[Any], base: int) -> None:
        self.conn, self.base = conn, base

    @classmethod
    async def open(cls, url: str) -> Rows:
        """Connect and remember the current highest row id."""
        conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
        row = await (
            await conn.execute("SELECT coalesce(max(id), 0) FROM timeline_events")
        ).fetchone()
        return cls(conn, int(row[0]) if row else 0)

    async def count(self) -> int:
        """Rows committed since `open`."""
        cur = await self.conn.execute(
            "SELECT count(*) FROM timeline_events WHERE id > %s", (self.base,)
        )
        row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def close(self) -> None:
        """Close the connection."""
        await self.conn.close()


@dataclass
class Tally:
    """What a load phase sent and saw."""

    accepted: int = 0
    requests: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    lag: list[tuple[float, int]] = field(default_factory=list)
    fresh_ms: list[float] = field(default_factory=list)
    #: Seconds from the start of the phase to each `fresh_ms` sample's acknowledgement.
    fresh_at: list[float] = field(default_factory=list)
    fresh_lost: int = 0
    started: float = field(default_factory=time.perf_counter)

    def error(self, what: str) -> None:
        """Count a failed request by reason."""
        self.errors[what] = self.errors.get(what, 0) + 1


#: Idle connections are dropped this soon: before uvicorn's own keep-alive timeout (5 s), so a
#: request is never sent on a connection the server is closing at that moment.
KEEPALIVE_EXPIRY_S: Final = 2.0


def client(base_url: str, connections: int = 64) -> httpx.AsyncClient:
    """An HTTP client with a large enough pool for open-loop load."""
    limits = httpx.Limits(
        max_connections=connections,
        max_keepalive_connections=connections,
        keepalive_expiry=KEEPALIVE_EXPIRY_S,
    )
    return httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30.0)


async def post(http: httpx.AsyncClient, req: Request, tally: Tally) -> bool:
    """Send one request with the write key; count it; True on 2xx."""
    try:
        resp = await http.post(
            req.path, content=req.body, auth=(WRITE_KEY, ""),
            headers={"Content-Type": req.content_type},
        )  # fmt: skip
    except httpx.HTTPError as exc:
        tally.error(type(exc).__name__)
        return False
    if resp.status_code >= 300:
        tally.error(f"http_{resp.status_code}")
        return False
    tally.accepted += req.events
    tally.requests += 1
    return True


async def sample_lag(rows: Rows, tally: Tally, stop: asyncio.Event, every_s: float = 0.5) -> None:
    """Record (seconds, accepted - written) until `stop` is set."""
    started = time.perf_counter()
    while not stop.is_set():
        written = await rows.count()
        tally.lag.append((time.perf_counter() - started, tally.accepted - written))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)


async def wait_rows(rows: Rows, expected: int, timeout_s: float) -> float:
    """Wait until `expected` rows are queryable; returns perf_counter at that moment."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await rows.count() >= expected:
            return time.perf_counter()
        await asyncio.sleep(0.05)
    raise BenchError(
        f"only {await rows.count()} of {expected} rows written within {timeout_s:.0f}s"
    )


async def saturate(
    ingest_url: str, db_url: str, requests: list[Request], concurrency: int
) -> dict[str, Any]:
    """Send everything as fast as `concurrency` senders can; rows queryable -> end-to-end rate."""
    rows, tally, stop = await Rows.open(db_url), Tally(), asyncio.Event()
    queue = iter(requests)
    expected = sum(r.events for r in requests)
    async with client(ingest_url, concurrency) as http:

        async def sender() -> None:
            for req in queue:
                await post(http, req, tally)

        sampler = asyncio.create_task(sample_lag(rows, tally, stop))
        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        sent_at = time.perf_counter()
        lag_at_send_end = tally.accepted - await rows.count()
        done_at = await wait_rows(rows, expected if not tally.errors else tally.accepted, 600)
        stop.set()
        await sampler
    await rows.close()
    return {
        "events": expected,
        "accepted": tally.accepted,
        "requests": tally.requests,
        "errors": tally.errors,
        "ingest_events_per_s": tally.accepted / (sent_at - started),
        "pipeline_events_per_s": tally.accepted / (done_at - started),
        "seconds": done_at - started,
        "max_lag_events": max((lag for _, lag in tally.lag), default=0),
        "lag_at_send_end_events": lag_at_send_end,
    }


async def paced(
    ingest_url: str, api_url: str, db_url: str, source: Iterator[Request], rate: float,
    duration_s: float, markers_per_s: float, tag: str,
) -> Tally:  # fmt: skip
    """Open loop at `rate` events/s for `duration_s`; every 1/markers_per_s s a Segment batch
    carries a page view by a new device, polled in the API from 2xx until visible."""
    rows, stop = await Rows.open(db_url), asyncio.Event()
    watch = Watch(await psycopg.AsyncConnection.connect(db_url, autocommit=True))
    tasks: set[asyncio.Task[Any]] = set()
    async with client(ingest_url, 128) as http, client(api_url, 64) as api:
        tally = Tally()
        sampler = asyncio.create_task(sample_lag(rows, tally, stop))
        watcher = asyncio.create_task(watch.run(stop))
        started, planned, next_marker, k = tally.started, 0.0, 0.0, 0
        while (now := time.perf_counter() - started) < duration_s:
            req = next(source)
            planned += req.events / rate
            if now >= next_marker:
                # Markers ride in a Segment batch; when none is due, an SDK flushes on its
                # timer with what it holds, here just the marker.
                marker = f"fresh-{tag}-{k}"
                k, next_marker = k + 1, next_marker + 1 / markers_per_s
                marked = with_marker(req, marker)
                if marked.path != req.path:  # the marker went alone: send req as well
                    _spawn(tasks, post(http, req, tally))
                _spawn(tasks, _track_marker(http, api, watch, marked, marker, tally))
            else:
                _spawn(tasks, post(http, req, tally))
            delay = planned - (time.perf_counter() - started)
            if delay > 0:
                await asyncio.sleep(delay)
        await asyncio.gather(*tasks)
        tally.lag.append((time.perf_counter() - started, tally.accepted - await rows.count()))
        stop.set()
        await sampler
        await watcher
    await rows.close()
    await watch.conn.close()
    return tally


def _spawn(tasks: set[asyncio.Task[Any]], coro: Coroutine[Any, Any, Any]) -> None:
    task = asyncio.create_task(coro)
    tasks.add(task)
    task.add_done_callback(tasks.discard)


def with_marker(req: Request, marker: str) -> Request:
    """`req` with a page view by the new device `marker` appended (if it is a Segment batch),
    or a one-message Segment batch carrying just the marker."""
    page = page_marker(marker, datetime.now(UTC))
    if req.path == SEGMENT and req.content_type == JSON:
        data = orjson.loads(req.body)
        data["batch"].append(page)
        return Request(req.path, req.content_type, orjson.dumps(data), req.events + 1)
    return Request(SEGMENT, JSON, orjson.dumps({"batch": [page]}), 1)


class Watch:
    """Notices new anonymous ids as they commit: one indexed query every 10 ms for all the
    markers in flight, so measuring freshness does not flood the API with polls."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn
        self.waiting: dict[str, asyncio.Future[None]] = {}

    def seen(self, marker: str) -> asyncio.Future[None]:
        """Resolves once an identifiers row for the anonymous id `marker` is committed."""
        return self.waiting.setdefault(marker, asyncio.get_running_loop().create_future())

    async def run(self, stop: asyncio.Event, every_s: float = 0.01) -> None:
        """Poll until `stop` is set."""
        query = (
            "SELECT id_value FROM identifiers WHERE id_type = 'anonymous_id' AND id_value = ANY(%s)"
        )
        while not stop.is_set():
            if self.waiting:
                cur = await self.conn.execute(query, (list(self.waiting),))
                for (value,) in await cur.fetchall():
                    future = self.waiting.pop(value)
                    if not future.done():
                        future.set_result(None)
            await asyncio.sleep(every_s)


async def _track_marker(
    http: httpx.AsyncClient, api: httpx.AsyncClient, watch: Watch, req: Request, marker: str,
    tally: Tally, timeout_s: float = 60,
) -> None:  # fmt: skip
    """Freshness of one marker: from the gateway's 2xx until an API lookup finds it (the
    lookup is sent when the row is committed, and its answer time counts)."""
    if not await post(http, req, tally):
        return
    acked = time.perf_counter()
    params = {"type": "anonymous_id", "value": marker}
    headers = {"Authorization": f"Bearer {AGENT_KEY}"}
    try:
        await asyncio.wait_for(watch.seen(marker), timeout_s)
        while time.perf_counter() - acked < timeout_s:
            try:
                resp = await api.get("/v1/customers/lookup", params=params, headers=headers)
                if resp.status_code == 200:
                    tally.fresh_ms.append((time.perf_counter() - acked) * 1000)
                    tally.fresh_at.append(acked - tally.started)
                    return
            except httpx.TransportError as exc:  # counted, and asked again (a GET)
                tally.error(f"lookup_{type(exc).__name__}")
            await asyncio.sleep(0.02)
    except TimeoutError:
        pass
    tally.fresh_lost += 1


def summarise(tally: Tally, rate: float, duration_s: float) -> dict[str, Any]:
    """Freshness percentiles, achieved rate and lag of a paced phase."""
    fresh = zip(tally.fresh_at, tally.fresh_ms, strict=True)
    return {
        "target_events_per_s": rate,
        "achieved_events_per_s": tally.accepted / duration_s,
        "errors": tally.errors,
        "freshness_ms": percentiles(tally.fresh_ms),
        "freshness_samples": len(tally.fresh_ms),
        "freshness_lost": tally.fresh_lost,
        "max_lag_events": max((lag for _, lag in tally.lag), default=0),
        "final_lag_events": tally.lag[-1][1] if tally.lag else 0,
        # Where in a long phase it got slow: each minute's freshness p99 and largest lag.
        "freshness_p99_by_minute_ms": [percentiles(ms)["p99"] for ms in by_minute(fresh)],
        "max_lag_by_minute_events": [max(lags) for lags in by_minute(tally.lag)],
    }


def by_minute(samples: Iterable[tuple[float, T]]) -> list[list[T]]:
    """Samples `(seconds since the start, value)` grouped by minute, in order (minutes with
    no sample are left out)."""
    minutes: dict[int, list[T]] = {}
    for at, value in samples:
        minutes.setdefault(int(at // 60), []).append(value)
    return [minutes[m] for m in sorted(minutes)]
