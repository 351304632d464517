"""Insight metric refresh time on a large synthetic store.

`python -m bench.insights_refresh [--events 10000000] [--per-customer 10]` builds (once, kept in
`build/bench/pg-insights`) a store of events spread over 90 days (web 45 %, chat 15 %, email
15 %, calls 12 %, store orders 8 %, surveys 5 %), then times a full refresh and an
incremental one (`--since` the last 7 days), and writes `build/bench/insights_refresh.json`.
`THREADLINE_BENCH_DATABASE_URL` uses another server instead of the embedded one.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import orjson
from sqlalchemy import Engine, text

from profile_store.insights.refresh import refresh
from profile_store.storage import migrate
from profile_store.storage.engines import make_sync_engine
from services.embedded import EmbeddedPostgres

START: Final = datetime(2026, 6, 1, tzinfo=UTC)
DAYS: Final = 90
CHUNK: Final = 1_000_000

_CUSTOMERS = text(
    """INSERT INTO customers (customer_id, first_seen, last_seen)
       SELECT 'bc' || lpad(g::text, 9, '0'), :start, :start FROM generate_series(1, :n) g"""
)
_EVENTS = text(
    """WITH r AS (
         SELECT g, random() AS c, random() AS t, random() AS x,
                1 + floor(random() * :customers)::bigint AS cust
         FROM generate_series(:lo, :hi) g)
       INSERT INTO timeline_events (event_id, customer_id, channel, kind, occurred_at,
                                    received_at, written_at, source, summary, attributes,
                                    identifiers)
       SELECT 'bench:' || g, 'bc' || lpad(cust::text, 9, '0'),
         CASE WHEN c < .45 THEN 'web' WHEN c < .60 THEN 'chat' WHEN c < .75 THEN 'email'
              WHEN c < .87 THEN 'call_centre' WHEN c < .95 THEN 'store' ELSE 'survey' END,
         CASE WHEN c < .45 THEN 'page_viewed' WHEN c < .60 THEN 'chat_message'
              WHEN c < .70 THEN 'email_received' WHEN c < .75 THEN 'email_sent'
              WHEN c < .87 THEN 'call_completed' WHEN c < .95 THEN 'order_placed'
              ELSE 'survey_response' END,
         :start + t * make_interval(days => :days), :start + t * make_interval(days => :days),
         :start + t * make_interval(days => :days),
         'bench', 'bench event',
         CASE WHEN c >= .95 AND x < .5 THEN jsonb_build_object(
                'metric', 'nps', 'score', floor(x * 22)::int, 'scale_max', 10,
                'nps_category', CASE WHEN floor(x * 22) >= 9 THEN 'promoter'
                                     WHEN floor(x * 22) <= 6 THEN 'detractor'
                                     ELSE 'passive' END)
              WHEN c >= .95 THEN jsonb_build_object(
                'metric', 'csat', 'score', 1 + floor((x - .5) * 10)::int, 'scale_max', 5)
              WHEN c >= .45 AND x < .3 THEN jsonb_build_object('order_id', 'W-' || cust)
              ELSE '{}'::jsonb END,
         '[]'::jsonb
       FROM r"""
)


def load(engine: Engine, events: int, per_customer: int) -> float:
    """Fill an empty store; returns seconds (0 if it already holds `events`)."""
    with engine.connect() as conn:
        have = conn.execute(text("SELECT count(*) FROM timeline_events")).scalar_one()
    if have == events:
        return 0.0
    if have:
        raise SystemExit(f"the bench store holds {have} events, not {events}: remove it first")
    started = time.perf_counter()
    customers = max(1, events // per_customer)
    with engine.begin() as conn:
        conn.execute(_CUSTOMERS, {"n": customers, "start": START})
    for lo in range(1, events + 1, CHUNK):
        hi = min(events, lo + CHUNK - 1)
        with engine.begin() as conn:
            conn.execute(text("SELECT setseed(:s)"), {"s": (lo % 1000) / 1000})
            conn.execute(
                _EVENTS,
                {"lo": lo, "hi": hi, "customers": customers, "start": START, "days": DAYS},
            )
        print(f"loaded {hi:,} events", flush=True)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE timeline_events"))
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    """Build the store if needed, time the refreshes, write the JSON figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--per-customer", type=int, default=10)
    parser.add_argument("--data", type=Path, default=Path("build/bench/pg-insights"))
    parser.add_argument("--out", type=Path, default=Path("build/bench/insights_refresh.json"))
    args = parser.parse_args(argv)
    url = os.environ.get("THREADLINE_BENCH_DATABASE_URL")
    server = None
    if not url:
        server = EmbeddedPostgres(args.data)
        url = server.start(database="threadline_bench")
    try:
        migrate.upgrade(url)
        engine = make_sync_engine(url)
        load_s = load(engine, args.events, args.per_customer)
        print(f"store: {args.events:,} events (loaded in {load_s:.0f} s)", flush=True)
        as_of = START + timedelta(days=DAYS)
        full = refresh(engine, as_of=as_of)
        print(
            f"full refresh: {full.events:,} events, {full.customers:,} customers, "
            f"{full.rows:,} rows in {full.seconds:.1f} s",
            flush=True,
        )
        inc = refresh(engine, since=(as_of - timedelta(days=7)).date(), as_of=as_of)
        print(
            f"incremental (last 7 days): {inc.events:,} events, {inc.customers:,} customers "
            f"in {inc.seconds:.1f} s",
            flush=True,
        )
        engine.dispose()
    finally:
        if server is not None:
            server.stop()
    figures = {
        "events": args.events,
        "load_seconds": round(load_s, 1),
        "full": {
            "events": full.events,
            "customers": full.customers,
            "rows": full.rows,
            "seconds": round(full.seconds, 1),
        },
        "incremental_7_days": {
            "events": inc.events,
            "customers": inc.customers,
            "seconds": round(inc.seconds, 1),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
