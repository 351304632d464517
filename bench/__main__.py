"""`python -m bench [--quick | --size medium | --size full] [--profile] [--scale]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench import BenchError
from bench.report import save, table
from bench.run import PHASES, Bench
from bench.sizes import SIZES, size


def main(argv: list[str] | None = None) -> int:
    """Run the suite, print the table, write build/bench/results.json."""
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__)
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--quick", action="store_true", help="same as --size quick")
    parser.add_argument("--soak-s", type=float, help="soak length in seconds")
    parser.add_argument("--api-rate", type=float, help="open-loop API requests per second")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--profile", action="store_true", help="py-spy the worker, ingest, API")
    parser.add_argument("--scale", action="store_true", help="also 1 vs 2 workers, 4 partitions")
    parser.add_argument(
        "--phases",
        default=",".join(PHASES),
        help="comma-separated subset of %(default)s (freshness and soak without pipeline "
        "run at 500 events/s)",
    )
    parser.add_argument(
        "--keep-store",
        action="store_true",
        help="load the history once into a kept template database and copy it on later runs",
    )
    parser.add_argument(
        "--api-processes",
        type=int,
        default=1,
        choices=range(1, 9),
        metavar="N",
        help="API processes the open loop spreads its connections over (as pods behind a "
        "Service); the closed loop always measures one",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        choices=range(1, 5),
        metavar="N",
        help="worker processes in the consumer group during pipeline, freshness and soak "
        "(the topics have 4 partitions)",
    )
    parser.add_argument("--out", type=Path, default=Path("build/bench"))
    args = parser.parse_args(argv)
    chosen = size("quick" if args.quick else args.size, args.soak_s, args.api_rate)
    try:
        phases = frozenset(args.phases.split(",")) | ({"scale"} if args.scale else set())
        unknown = phases - {*PHASES, "scale"}
        if unknown:
            parser.error(f"unknown phases: {', '.join(sorted(unknown))}")
        keep, apis, workers = args.keep_store, args.api_processes, args.workers
        bench = Bench(chosen, args.out, args.seed, args.profile, phases, keep, apis, workers)
        results = bench.run()
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    latest = save(results, args.out)
    print()
    print(table(results, latest))
    for name, prof in results.get("profiles", {}).items():
        if "error" in prof:
            print(f"\nprofile {name}: {prof['error']}")
            continue
        print(f"\nprofile {name}: {prof.get('samples', 0)} samples; top self time:")
        for frame, pct in prof.get("self_pct", [])[:10]:
            print(f"  {pct:5.1f}%  {frame}")
    print(f"\nwritten: {args.out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
