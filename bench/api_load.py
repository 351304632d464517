"""Agent reads against the API on the loaded store: open loop at a fixed request rate, and a
closed loop for the requests per second one API process serves."""

from __future__ import annotations

import asyncio
import gc
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from bench import BenchError
from bench.http1 import Connection
from bench.people import person
from bench.stack import AGENT_KEY
from bench.stats import percentiles

HEADERS = {"Authorization": f"Bearer {AGENT_KEY}"}
WINDOW_S = 5


def agent_requests(seed: int, customers: int) -> Callable[[int], tuple[str, str, dict[str, str]]]:
    """Request i of an agent mix: lookup by phone (as typed) or email, profile, timeline page."""
    rng = random.Random(seed ^ 0xA9E17)

    def make(i: int) -> tuple[str, str, dict[str, str]]:
        p = person(seed, rng.randrange(customers))
        step = i % 3
        if step == 0:
            if rng.random() < 0.5:
                return (
                    "lookup",
                    "/v1/customers/lookup",
                    {"type": "phone", "value": p.phone_national},
                )
            return "lookup", "/v1/customers/lookup", {"type": "email", "value": p.email.upper()}
        if step == 1:
            return "profile", f"/v1/customers/{p.customer_id}", {}
        return "timeline", f"/v1/customers/{p.customer_id}/timeline", {"limit": "50"}

    return make


async def open_loop(
    api_urls: Sequence[str],
    seed: int,
    customers: int,
    rate: float,
    duration_s: float,
    senders: int = 64,
) -> dict[str, Any]:
    """Requests planned at fixed intervals whatever the answers do; latency counts from the
    planned time, so a stall or a queue in front of the senders is not hidden. With several
    API processes the senders' connections are spread over them, as a Service spreads
    connections over pods."""
    make = agent_requests(seed, customers)
    times: dict[str, list[float]] = {"lookup": [], "profile": [], "timeline": []}
    statuses: dict[int, int] = {}
    windows: dict[int, list[float]] = {}
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()

    async def sender(api_url: str) -> None:
        conn = Connection(api_url, HEADERS)
        while (item := await queue.get()) is not None:
            i, planned = item
            kind, path, params = make(i)
            try:
                status, _ = await conn.get(path, params)
            except (OSError, BenchError):
                status = 0
                await conn.close()
            statuses[status] = statuses.get(status, 0) + 1
            latency = (time.perf_counter() - planned) * 1000
            times[kind].append(latency)
            windows.setdefault(int(i / rate // WINDOW_S), []).append(latency)
        await conn.close()

    for api_url in api_urls:
        warm = Connection(api_url, HEADERS)
        for i in range(20):  # warm the server's pool and caches
            _, path, params = make(i)
            await warm.get(path, params)
        await warm.close()
    tasks = [asyncio.create_task(sender(api_urls[n % len(api_urls)])) for n in range(senders)]
    # The load generator must not pause itself: no garbage collection while it measures,
    # and how late it dispatched is reported, so its own stalls are not blamed on the API.
    gc.collect()
    gc.disable()
    late_ms = 0.0
    started = time.perf_counter()
    try:
        for i in range(int(rate * duration_s)):
            planned = started + i / rate
            delay = planned - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            late_ms = max(late_ms, (time.perf_counter() - planned) * 1000)
            queue.put_nowait((i, planned))
        for _ in tasks:
            queue.put_nowait(None)
        await asyncio.gather(*tasks)
    finally:
        gc.enable()
    elapsed = time.perf_counter() - started
    every = [t for ts in times.values() for t in ts]
    overall = percentiles(every)
    return {
        "api_processes": len(api_urls),
        "client_max_dispatch_late_ms": late_ms,
        "rate_per_s": rate,
        "achieved_per_s": len(every) / elapsed,
        "requests": len(every),
        "statuses": {str(k): v for k, v in statuses.items()},
        "api_p50_ms": overall["p50"],
        "api_p99_ms": overall["p99"],
        "by_route_ms": {k: percentiles(v) for k, v in times.items()},
        # Where in the run the slow answers were: p99 of each WINDOW_S seconds.
        "p99_by_window_ms": [percentiles(windows[w])["p99"] for w in sorted(windows)],
    }


async def closed_loop(
    api_url: str, seed: int, customers: int, concurrency: int, duration_s: float
) -> dict[str, Any]:
    """As many requests as `concurrency` clients get answered in `duration_s`."""
    make = agent_requests(seed + 1, customers)
    done = errors = 0
    counter = iter(range(10**9))
    deadline = time.perf_counter() + duration_s

    async def client() -> None:
        nonlocal done, errors
        conn = Connection(api_url, HEADERS)
        while time.perf_counter() < deadline:
            _, path, params = make(next(counter))
            status, _ = await conn.get(path, params)
            done += 1
            errors += status >= 500
        await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {
        "requests_per_s": done / elapsed,
        "seconds": elapsed,
        "concurrency": concurrency,
        "server_errors": errors,
    }


def run(coro: Any) -> Any:
    """Run a phase coroutine from synchronous code."""
    return asyncio.run(coro)
