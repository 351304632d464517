"""The benchmark run: baselines, pipeline, freshness, API, soak, and optionally scale-out."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import BenchError, api_load, baselines, console, load
from bench.history import load_history
from bench.journeys import journeys, stream
from bench.people import person
from bench.profiling import Recording, record
from bench.sizes import Size
from bench.stack import (
    Infra,
    Processes,
    cpu_seconds,
    machine_busy,
    rss_mb,
    topics,
    tree_cpu_seconds,
)
from bench.store import kept_store
from schemas import topics as topic_names
from services.kafka_admin import ensure_topics

PARTITIONS = 4
PHASES = ("baselines", "pipeline", "freshness", "api", "console", "soak")
#: Journey number ranges, so that no two phases send the same event.
WARMUP, PIPELINE, FRESH, SOAK, RAW, SCALE = 0, 10**6, 2 * 10**6, 3 * 10**6, 4 * 10**6, 5 * 10**6


def say(message: str) -> None:
    """Progress on stdout."""
    print(message, flush=True)


class Bench:
    """One run of the suite; `results` is what ends up in results.json."""

    def __init__(
        self,
        sz: Size,
        out_dir: Path,
        seed: int,
        profile: bool,
        phases: frozenset[str],
        keep_store: bool = False,
        api_processes: int = 1,
        workers: int = 1,
    ) -> None:
        self.sz, self.out, self.seed, self.profile, self.phases = sz, out_dir, seed, profile, phases
        self.keep_store, self.api_processes, self.workers = keep_store, api_processes, workers
        self.infra = Infra(out_dir / "data")
        self.results: dict[str, Any] = {"size": asdict(sz), "seed": seed}
        self.rss: dict[str, float] = {}

    def run(self) -> dict[str, Any]:
        """Every phase; the infrastructure is stopped whatever happens."""
        self.results["load_average_start"] = os.getloadavg()
        probe = baselines.canonical_records(journeys(self.seed, 2_000, 10**8, 0, RAW))
        self.results["cpu_probe_us"] = {"start": baselines.cpu_probe(probe)}
        try:
            self.infra.start()
            self.results["postgres_settings"] = self.infra.server_settings()
            topics(self.infra.bootstrap, PARTITIONS)
            db = self._history()
            if "baselines" in self.phases:
                self._raw_baselines(db)
            self._pipeline(db)
            if "scale" in self.phases:
                self._scale()
        finally:
            self.infra.stop()
        self.results["load_average_end"] = os.getloadavg()
        self.results["cpu_probe_us"]["end"] = baselines.cpu_probe(probe)
        return self.results

    def _history(self) -> str:
        """The loaded store for this run (a fresh one, or a copy of the kept one); its URL."""
        sz = self.sz
        say(f"history: {sz.customers:,} customers, {sz.history_events:,} events")
        if self.keep_store:
            db, stats = kept_store(
                self.infra.admin_url, sz.name, self.seed, sz.customers, sz.history_events, say
            )
            self.infra.databases.append(db.rsplit("/", 1)[-1])
        else:
            db = self.infra.database("main")
            stats = load_history(db, self.seed, sz.customers, sz.history_events, say)
        self.results["history"] = {
            **asdict(stats),
            "copy_rows_per_s": stats.copy_rows_per_s,
            "kept_store": self.keep_store,
        }
        return db

    def _raw_baselines(self, db: str) -> None:
        sz, base = self.sz, self.results.setdefault("baselines", {})
        say(f"baselines: {sz.raw_events:,} canonical events through kafka-python and aiokafka")
        records = baselines.canonical_records(journeys(self.seed, sz.raw_events, 10**8, 0, RAW))
        ensure_topics(self.infra.bootstrap, PARTITIONS, names=(baselines.RAW_TOPIC,))
        base["kafka_produce_per_s"] = baselines.produce(
            self.infra.bootstrap, baselines.RAW_TOPIC, records
        )
        base["aiokafka_consume_decode_per_s"] = baselines.run_consume(
            self.infra.bootstrap, baselines.RAW_TOPIC, len(records)
        )
        base["raw_records"] = len(records)
        base["avg_record_bytes"] = sum(len(v) for _, v, _ in records) / len(records)
        base["postgres_copy_timeline_per_s"] = self.results["history"]["copy_rows_per_s"]
        ids = [person(self.seed, n).customer_id for n in range(min(sz.customers, 100_000))]
        base["psycopg_pk_query"] = baselines.pk_query(db, ids, 5_000, self.seed)

    def _pipeline(self, db: str) -> None:
        procs = Processes(self.infra.bootstrap, db, PARTITIONS, self.out / "logs")
        try:
            procs.start("ingest")
            procs.start("api")
            for name in self._worker_names():
                procs.start("worker", name)
            time.sleep(2)
            self.rss = {"start": rss_mb(procs.pid("worker"))}
            self.results["worker_rss_mb"] = self.rss
            rate = self._saturate(procs, db) if "pipeline" in self.phases else 500.0
            if "freshness" in self.phases:
                self._freshness(procs, db, rate)
            if "api" in self.phases:
                self._api(procs)
            if "console" in self.phases:
                say("console: cold page loads, then callers looked up in the browser")
                self.results["console"] = console.measure(
                    procs.url("api"), self.seed, self.sz.customers
                )
            if "soak" in self.phases:
                self._soak(procs, db, rate)
        finally:
            procs.stop()

    def _worker_names(self) -> list[str]:
        return ["worker", *(f"worker-{n}" for n in range(2, self.workers + 1))]

    def _saturate(self, procs: Processes, db: str) -> float:
        """The sustained end-to-end rate; returns it."""
        sz, ingest = self.sz, procs.url("ingest")
        say("warm-up: first batch through the whole pipeline")
        warm = journeys(self.seed, 500, sz.customers + WARMUP, sz.customers, WARMUP)
        asyncio.run(load.saturate(ingest, db, warm, 2))
        say(f"pipeline: {sz.pipeline_events:,} events, {sz.concurrency} senders, until queryable")
        first = sz.customers + PIPELINE
        requests = journeys(self.seed, sz.pipeline_events, first, sz.customers, PIPELINE)
        pids = {n: procs.pid(n) for n in (*self._worker_names(), "ingest", "api")}
        pids.update(self.infra.infra_pids(), bench=os.getpid())
        recs = self._profile({n: pids[n] for n in ("worker", "ingest")})
        batches0 = procs.worker_batches(self._worker_names())
        cpu0, busy0 = _cpu(pids), machine_busy()
        pipe = asyncio.run(load.saturate(ingest, db, requests, sz.concurrency))
        cpu1, busy1 = _cpu(pids), machine_busy()
        pipe["worker_batches"] = (procs.worker_batches(self._worker_names()) - batches0).summary()
        self._stop_profiles(recs)
        per_event = {n: 1000 * (cpu1[n] - cpu0[n]) / pipe["accepted"] for n in pids}
        pipe["cpu_ms_per_event"] = {
            **per_event,  # each process by name: worker, worker-2, ..., ingest, postgres
            "workers": sum(per_event[n] for n in self._worker_names()),
            "total": sum(per_event.values()),
        }
        pipe["workers"] = self.workers
        pipe["machine_busy_pct"] = 100 * (busy1[0] - busy0[0]) / (busy1[1] - busy0[1])
        pipe["our_share_of_machine_pct"] = (
            100 * sum(cpu1[n] - cpu0[n] for n in pids) / (busy1[1] - busy0[1])
        )
        base = self.results.get("baselines", {})
        rates = [(v, k) for k, v in base.items() if k.endswith("_per_s")]
        if rates:
            slowest = min(rates)
            pipe["slowest_baseline"] = slowest[1]
            pipe["ratio_to_slowest_baseline"] = pipe["pipeline_events_per_s"] / slowest[0]
        self.results["pipeline"] = pipe
        return float(pipe["pipeline_events_per_s"])

    def _freshness(self, procs: Processes, db: str, sustained: float) -> None:
        sz, rate = self.sz, sustained * 0.5
        say(f"freshness: {rate:,.0f} events/s (50 %) for {sz.freshness_s:g}s")
        src = stream(self.seed, sz.customers + FRESH, sz.customers, FRESH)
        urls = procs.url("ingest"), procs.url("api")
        tally = asyncio.run(load.paced(*urls, db, src, rate, sz.freshness_s, sz.markers_per_s, "f"))
        self.results["freshness"] = load.summarise(tally, rate, sz.freshness_s)

    def _api(self, procs: Processes) -> None:
        sz, api = self.sz, procs.url("api")
        extra = [f"api-{n}" for n in range(2, self.api_processes + 1)]
        for name in extra:
            procs.start("api", name)
        urls = [api, *(procs.url(name) for name in extra)]
        say(
            f"api: {sz.api_rate:g} req/s open loop for {sz.api_s:g}s over {len(urls)} API "
            "process(es), then closed loop on one"
        )
        # Warm-up at the same rate on other customers (connections, prepared statements,
        # index pages in memory); reported apart, not mixed into the measured run.
        warm_s = min(10.0, sz.api_s / 3)
        warm = api_load.open_loop(urls, self.seed + 7, sz.customers, sz.api_rate, warm_s)
        warmup = api_load.run(warm)
        recs = self._profile({"api": procs.pid("api")})
        opened = api_load.open_loop(urls, self.seed, sz.customers, sz.api_rate, sz.api_s)
        result = {**api_load.run(opened), "warmup": warmup}
        self._stop_profiles(recs)
        procs.stop(extra)
        closed = api_load.closed_loop(api, self.seed, sz.customers, 16, min(sz.api_s, 15))
        api_cpu, own_cpu = cpu_seconds(procs.pid("api")), cpu_seconds(os.getpid())
        saturated = api_load.run(closed)
        n = saturated["requests_per_s"] * saturated["seconds"]
        saturated["api_cpu_ms_per_request"] = 1000 * (cpu_seconds(procs.pid("api")) - api_cpu) / n
        saturated["client_cpu_ms_per_request"] = 1000 * (cpu_seconds(os.getpid()) - own_cpu) / n
        self.results["api"] = {**result, "requests_per_s_per_worker": saturated}

    def _soak(self, procs: Processes, db: str, sustained: float) -> None:
        sz, rate, rss = self.sz, sustained * 0.5, self.rss
        say(f"soak: {rate:,.0f} events/s for {sz.soak_s:g}s, worker memory")
        rss["soak_start"] = rss_mb(procs.pid("worker"))
        src = stream(self.seed, sz.customers + SOAK, sz.customers, SOAK)
        urls = procs.url("ingest"), procs.url("api")
        tally = asyncio.run(load.paced(*urls, db, src, rate, sz.soak_s, 1.0, "s"))
        rss["soak_end"] = rss_mb(procs.pid("worker"))
        rss["soak_growth_pct"] = 100 * (rss["soak_end"] / rss["soak_start"] - 1)
        rss["soak_s"] = sz.soak_s
        self.results["soak"] = load.summarise(tally, rate, sz.soak_s)

    def _profile(self, pids: dict[str, int]) -> list[Recording]:
        if not self.profile:
            return []
        return [record(name, pid, self.out) for name, pid in pids.items()]

    def _stop_profiles(self, recs: list[Recording]) -> None:
        for rec in recs:
            self.results.setdefault("profiles", {})[rec.name] = rec.stop()

    def _scale(self) -> None:
        """1 worker vs 2 workers draining the same pre-loaded 4-partition topic."""
        if self.infra.external_broker:
            say("scale: skipped (needs the embedded broker: a fresh topic per run)")
            return
        bootstrap = self.infra.fresh_broker()
        ensure_topics(bootstrap, PARTITIONS)
        reqs = journeys(self.seed, self.sz.scale_events, 2 * 10**8, 0, SCALE)
        records = baselines.canonical_records(reqs)
        baselines.produce(bootstrap, topic_names.INTERACTIONS, records)
        out: dict[str, Any] = {"events": len(records), "partitions": PARTITIONS}
        for workers in (1, 2):
            say(f"scale: {workers} worker(s) draining {len(records):,} events")
            db = self.infra.database(f"scale{workers}")
            procs = Processes(bootstrap, db, PARTITIONS, self.out / "logs")
            try:
                for w in range(workers):
                    procs.start("worker", f"scale-worker-{workers}-{w}")
                out[f"workers_{workers}_events_per_s"] = asyncio.run(_drain_rate(db, len(records)))
            finally:
                procs.stop()
        out["speedup"] = out["workers_2_events_per_s"] / out["workers_1_events_per_s"]
        self.results["scale"] = out


def _cpu(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds per part: PostgreSQL with its backends, every other process on its own
    (the bench's children are the parts themselves)."""
    return {n: tree_cpu_seconds(p) if n == "postgres" else cpu_seconds(p) for n, p in pids.items()}


async def _drain_rate(db: str, expected: int, timeout_s: float = 900) -> float:
    """Rows per second from the first written row until all `expected` are queryable."""
    rows = await load.Rows.open(db)
    try:
        deadline = time.monotonic() + timeout_s
        first_at, first_count = 0.0, 0
        while time.monotonic() < deadline:
            count = await rows.count()
            if count and not first_at:
                first_at, first_count = time.perf_counter(), count
            if count >= expected:
                return (count - first_count) / (time.perf_counter() - first_at)
            await asyncio.sleep(0.05)
        raise BenchError(f"workers wrote {await rows.count()} of {expected} within {timeout_s}s")
    finally:
        await rows.close()
