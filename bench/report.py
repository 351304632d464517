"""The results table, `results.json`, and how figures change between sizes."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import orjson

#: (label, path in results, unit, target as text)
ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("CPU probe at start (decode)", "cpu_probe_us.start", "us/ev", "lower: faster host"),
    ("CPU probe at end", "cpu_probe_us.end", "us/ev", ""),
    ("kafka-python produce", "baselines.kafka_produce_per_s", "ev/s", ""),
    ("aiokafka consume + orjson", "baselines.aiokafka_consume_decode_per_s", "ev/s", ""),
    ("COPY into timeline_events", "baselines.postgres_copy_timeline_per_s", "rows/s", ""),
    ("psycopg PK query p50", "baselines.psycopg_pk_query.p50_ms", "ms", ""),
    ("psycopg PK query p99", "baselines.psycopg_pk_query.p99_ms", "ms", ""),
    ("gateway accept rate", "pipeline.ingest_events_per_s", "ev/s", ""),
    ("pipeline_events_per_s", "pipeline.pipeline_events_per_s", "ev/s", ">= 5000"),
    ("  ratio to slowest baseline", "pipeline.ratio_to_slowest_baseline", "x", ">= 0.35"),
    ("  max consumer lag", "pipeline.max_lag_events", "events", ""),
    ("  worker batch, mean size", "pipeline.worker_batches.mean_records", "events", ""),
    ("  worker batch, mean time", "pipeline.worker_batches.mean_ms", "ms", ""),
    ("  CPU per event, all parts", "pipeline.cpu_ms_per_event.total", "ms", "<= 0.4 for 5k/s"),
    ("  CPU per event, workers", "pipeline.cpu_ms_per_event.workers", "ms", ""),
    ("  CPU per event, gateway", "pipeline.cpu_ms_per_event.ingest", "ms", ""),
    ("  CPU per event, PostgreSQL", "pipeline.cpu_ms_per_event.postgres", "ms", ""),
    ("  machine busy (all users)", "pipeline.machine_busy_pct", "%", ""),
    ("  our share of the machine", "pipeline.our_share_of_machine_pct", "%", ""),
    ("freshness p50", "freshness.freshness_ms.p50", "ms", ""),
    ("freshness p95", "freshness.freshness_ms.p95", "ms", "< 1000"),
    ("freshness p99", "freshness.freshness_ms.p99", "ms", "< 2000"),
    ("  freshness max lag", "freshness.max_lag_events", "events", ""),
    ("api_p50_ms", "api.api_p50_ms", "ms", ""),
    ("api_p99_ms", "api.api_p99_ms", "ms", "< 25"),
    ("  API processes", "api.api_processes", "", ""),
    ("  p99 during warm-up", "api.warmup.api_p99_ms", "ms", ""),
    ("API req/s per worker", "api.requests_per_s_per_worker.requests_per_s", "req/s", ""),
    ("  API CPU per request", "api.requests_per_s_per_worker.api_cpu_ms_per_request", "ms", ""),
    ("console first paint p50", "console.first_contentful_paint_ms_p50", "ms", "< 300"),
    ("console first paint max", "console.first_contentful_paint_ms_max", "ms", "< 300"),
    ("console lookup to render p50", "console.lookup_to_profile_and_timeline_ms.p50", "ms", ""),
    ("console lookup to render p95", "console.lookup_to_profile_and_timeline_ms.p95", "ms", ""),
    ("worker_rss_mb start", "worker_rss_mb.start", "MiB", ""),
    ("worker_rss_mb soak start", "worker_rss_mb.soak_start", "MiB", ""),
    ("worker_rss_mb soak end", "worker_rss_mb.soak_end", "MiB", ""),
    ("  growth over soak", "worker_rss_mb.soak_growth_pct", "%", "< 10"),
    ("  freshness p95 over soak", "soak.freshness_ms.p95", "ms", ""),
    ("  freshness p99 over soak", "soak.freshness_ms.p99", "ms", ""),
    ("scale: 1 worker", "scale.workers_1_events_per_s", "ev/s", ""),
    ("scale: 2 workers", "scale.workers_2_events_per_s", "ev/s", ""),
    ("  speedup", "scale.speedup", "x", ""),
)


def get(results: dict[str, Any], path: str) -> Any:
    """The value at a dotted path, or None."""
    node: Any = results
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def fmt(value: Any) -> str:
    """A figure for the table."""
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def table(results: dict[str, Any], others: dict[str, dict[str, Any]]) -> str:
    """The figures of this run, with the same figures of other sizes' latest runs beside them."""
    names = [n for n in others if n != results["size"]["name"]]
    head = ["figure", results["size"]["name"], *names, "unit", "target"]
    lines = [head]
    for label, path, unit, target in ROWS:
        lines.append(
            [
                label,
                fmt(get(results, path)),
                *(fmt(get(others[n], path)) for n in names),
                unit,
                target,
            ]
        )
    widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
    out = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in lines
    ]
    out.insert(1, "-" * len(out[0]))
    return "\n".join(out)


def save(results: dict[str, Any], out_dir: Path) -> dict[str, dict[str, Any]]:
    """Write results.json and results-<size>.json; return the latest result of every size."""
    out_dir.mkdir(parents=True, exist_ok=True)
    blob = orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY)
    (out_dir / "results.json").write_bytes(blob)
    (out_dir / f"results-{results['size']['name']}.json").write_bytes(blob)
    latest = {}
    for path in sorted(out_dir.glob("results-*.json")):
        data = orjson.loads(path.read_bytes())
        latest[data["size"]["name"]] = data
    return latest
