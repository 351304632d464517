"""`make soak`: the embedded stack as `make dev` runs it, at a constant rate for a long time.

Starts the real `threadline dev` (supervisor, embedded Tansu broker, embedded PostgreSQL,
worker, gateway, SMTP listener, API) on free loopback ports over its own data folder, sends
the benchmark's journeys through the gateway at `--rate` events/s for `--minutes`, with a
freshness marker every second (from the gateway's 2xx until an API lookup finds it), and
records per minute: the broker's and the worker's memory (largest sample), the broker's CPU,
freshness p50/p99, and how often the supervisor recycled the broker. Then Ctrl-C, timed.

`python -m bench.soak --minutes 30 --rate 500`; results in build/bench/soak.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import orjson

from bench import BenchError
from bench.journeys import stream
from bench.load import by_minute, paced
from bench.stack import cpu_seconds, rss_mb
from bench.stats import percentiles
from services.devstack.runstate import StackInfo
from services.embedded import free_port

SAMPLE_EVERY_S = 10.0
ROLES = ("broker", "worker", "ingest", "api")


class Sampler(threading.Thread):
    """Every `SAMPLE_EVERY_S`: memory of each part and the broker's CPU share since last."""

    def __init__(self, stack_file: Path) -> None:
        super().__init__(name="soak-sampler", daemon=True)
        self.stack_file = stack_file
        self.samples: list[tuple[float, dict[str, float]]] = []
        self.stop = threading.Event()
        self.started = time.perf_counter()

    def run(self) -> None:
        """Sample until stopped."""
        last: tuple[int, float, float] | None = None
        while not self.stop.wait(SAMPLE_EVERY_S):
            info = StackInfo.from_json(self.stack_file.read_bytes())
            sample: dict[str, float] = {}
            for role in ROLES:
                ref = info.processes.get(role)
                if ref is not None and ref.alive():
                    sample[f"{role}_rss_mb"] = rss_mb(ref.pid)
            broker = info.processes.get("broker")
            if broker is not None and broker.alive():
                now, used = time.perf_counter(), cpu_seconds(broker.pid)
                if last is not None and last[0] == broker.pid:
                    sample["broker_cpu_pct"] = 100 * (used - last[2]) / (now - last[1])
                last = (broker.pid, now, used)
            self.samples.append((time.perf_counter() - self.started, sample))


def start_stack(data_dir: Path, log: Path) -> tuple[subprocess.Popen[bytes], dict[str, int]]:
    """`threadline dev` in its own session; returns it once the banner is printed."""
    ports = {name: free_port() for name in ("api", "ingest", "broker", "smtp", "smtp_metrics")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
    env.update(
        THREADLINE_DATA_DIR=str(data_dir),
        THREADLINE_API_PORT=str(ports["api"]),
        THREADLINE_INGEST_PORT=str(ports["ingest"]),
        THREADLINE_BROKER_PORT=str(ports["broker"]),
        THREADLINE_SMTP_PORT=str(ports["smtp"]),
        THREADLINE_SMTP_METRICS_PORT=str(ports["smtp_metrics"]),
        THREADLINE_LOG_JSON="true",
        THREADLINE_RATE_LIMIT_PER_S="0",
    )
    env.update({k: v for k, v in os.environ.items() if k == "THREADLINE_BROKER_RECYCLE_MB"})
    out = log.open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "dev"],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 180
    while "Threadline is running" not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise BenchError(f"threadline dev did not start; see {log}")
        time.sleep(0.5)
    return proc, ports


def recycles_by_minute(log: Path, began_wall: float, minutes: int) -> list[int]:
    """How many `broker_recycled` lines fell in each minute of the load."""
    counts = [0] * minutes
    for line in log.read_text(errors="replace").splitlines():
        if '"broker_recycled"' not in line:
            continue
        stamp = orjson.loads(line).get("timestamp", "")
        at = time.mktime(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
        minute = int((at - began_wall) // 60)
        if 0 <= minute < minutes:
            counts[minute] += 1
    return counts


def run(minutes: float, rate: float, out_dir: Path, seed: int) -> dict[str, Any]:
    """Run the soak; returns the results (also written to `out_dir/soak.json`)."""
    work = out_dir / "soak"
    data_dir, log = work / "data", work / "dev.log"
    work.mkdir(parents=True, exist_ok=True)
    log.write_bytes(b"")
    proc, ports = start_stack(data_dir, log)
    info = StackInfo.from_json((data_dir / "run" / "stack.json").read_bytes())
    sampler = Sampler(data_dir / "run" / "stack.json")
    sampler.start()
    began_wall = time.time()
    try:
        source = stream(seed, 10_000_000, 0)
        tally = asyncio.run(
            paced(
                f"http://127.0.0.1:{ports['ingest']}",
                f"http://127.0.0.1:{ports['api']}",
                info.database_url,
                source,
                rate,
                minutes * 60,
                1.0,
                f"soak{int(began_wall)}",
            )
        )
    finally:
        sampler.stop.set()
        sampler.join()
        stop_began = time.monotonic()
        proc.send_signal(signal.SIGINT)
        code = proc.wait(60)
        stop_s = time.monotonic() - stop_began
    n_minutes = max(1, int(minutes))
    fresh = by_minute(zip(tally.fresh_at, tally.fresh_ms, strict=True))
    mem = by_minute(sampler.samples)
    per_minute = []
    for m in range(n_minutes):
        samples = mem[m] if m < len(mem) else []
        ms = fresh[m] if m < len(fresh) else []
        row: dict[str, Any] = {"minute": m + 1}
        for key in ("broker_rss_mb", "worker_rss_mb", "ingest_rss_mb", "api_rss_mb"):
            values = [s[key] for s in samples if key in s]
            row[key] = round(max(values), 1) if values else None
        cpu = [s["broker_cpu_pct"] for s in samples if "broker_cpu_pct" in s]
        row["broker_cpu_pct"] = round(sum(cpu) / len(cpu), 1) if cpu else None
        stats = percentiles(ms)
        row["freshness_p50_ms"], row["freshness_p99_ms"] = stats["p50"], stats["p99"]
        per_minute.append(row)
    for row, count in zip(per_minute, recycles_by_minute(log, began_wall, n_minutes), strict=True):
        row["broker_recycles"] = count
    results = {
        "minutes": minutes,
        "rate_events_per_s": rate,
        "accepted": tally.accepted,
        "achieved_events_per_s": tally.accepted / (minutes * 60),
        "errors": tally.errors,
        "freshness_ms": percentiles(tally.fresh_ms),
        "freshness_lost": tally.fresh_lost,
        "per_minute": per_minute,
        "stop_seconds": round(stop_s, 2),
        "stop_exit_code": code,
    }
    (out_dir / "soak.json").write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    return results


def print_table(results: dict[str, Any]) -> None:
    """The per-minute figures as a table."""
    cols = ("minute", "broker_rss_mb", "broker_cpu_pct", "worker_rss_mb", "freshness_p50_ms",
            "freshness_p99_ms", "broker_recycles")  # fmt: skip
    print("  ".join(f"{c:>16}" for c in cols))
    for row in results["per_minute"]:
        print("  ".join(f"{_fmt(row.get(c)):>16}" for c in cols))
    fresh = results["freshness_ms"]
    print(
        f"accepted {results['accepted']:,} ({results['achieved_events_per_s']:,.0f}/s), "
        f"errors {results['errors'] or 'none'}, freshness p50 {fresh['p50']:.0f} ms "
        f"p99 {fresh['p99']:.0f} ms max {fresh['max']:.0f} ms, lost markers "
        f"{results['freshness_lost']}; Ctrl-C took {results['stop_seconds']} s "
        f"(exit {results['stop_exit_code']})"
    )


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if isinstance(value, float) else str(value)


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run, print."""
    parser = argparse.ArgumentParser(prog="make soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=500.0, help="events per second")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=Path("build/bench"))
    args = parser.parse_args(argv)
    try:
        print_table(run(args.minutes, args.rate, args.out, args.seed))
    except BenchError as exc:
        print(f"soak: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
