"""Bulk history: COPY generated customers, identifiers and timelines straight into PostgreSQL.

The shape matches what the worker writes (canonical customers, several identifiers each,
timeline rows with the channel attributes, per-channel counts), so the API is measured on a
realistic store. Customers get a skewed number of events (a few very busy timelines, many
short ones); event `i` always belongs to the same customer for a given seed.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import orjson
import psycopg

from bench.journeys import EPOCH
from bench.people import Person, person

CHUNK: Final = 5_000  # customers per COPY round
#: Changes whenever the generated history changes, so a kept store of an older one is rebuilt.
HISTORY_VERSION: Final = 2
#: (channel, kind, source, summary, share)
SHAPES: Final = (
    ("web", "page_viewed", "segment", "Viewed /lamps/desk-lamp", 0.55),
    ("web", "tracked", "segment", "Product Viewed: Desk lamp", 0.1),
    ("chat", "chat_message", "web-chat", "Chat: Where is my order?", 0.14),
    ("store", "order_placed", "store-receipt", "Store order R-1 (59.90 USD)", 0.07),
    ("call_centre", "call_completed", "amazon-connect", "Inbound call, 6 min (Orders)", 0.06),
    ("email", "email_received", "smtp", "Email: Collection time for order W-1", 0.05),
    ("survey", "survey_response", "survey", "NPS 9 (promoter)", 0.03),
)
TIMELINE_COLUMNS: Final = (
    "event_id, customer_id, channel, kind, occurred_at, received_at, source, summary, "
    "attributes, identifiers, origin_customer_id"
)


@dataclass(frozen=True)
class LoadStats:
    """What the bulk load wrote and how fast the timeline COPY went."""

    customers: int
    identifiers: int
    events: int
    seconds: float
    timeline_copy_seconds: float

    @property
    def copy_rows_per_s(self) -> float:
        """Timeline rows per second of COPY time."""
        return self.events / self.timeline_copy_seconds if self.timeline_copy_seconds else 0.0


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _ts(at: datetime) -> str:
    return at.isoformat()


def event_counts(seed: int, customers: int, events: int) -> list[int]:
    """Events per customer: skewed (Pareto), summing to exactly `events`."""
    rng = random.Random(seed ^ 0x5EED)
    weights = [rng.paretovariate(1.6) for _ in range(customers)]
    scale = events / sum(weights)
    counts = [int(w * scale) for w in weights]
    short = events - sum(counts)
    order = sorted(range(customers), key=lambda i: weights[i] * scale - counts[i], reverse=True)
    for i in order[: max(short, 0)]:
        counts[i] += 1
    return counts


def _shape(r: float) -> tuple[str, str, str, str]:
    """The (channel, kind, source, summary) that a uniform draw `r` picks by share."""
    acc = 0.0
    for channel, kind, source, summary, share in SHAPES:
        acc += share
        if r < acc:
            return channel, kind, source, summary
    return SHAPES[0][:4]


def _identity_pairs(p: Person) -> list[tuple[str, str]]:
    pairs = [("email", p.email), ("phone", p.phone_e164), ("user_id", p.user_id)]
    pairs += [("anonymous_id", d) for d in p.devices]
    if p.loyalty_id:
        pairs.append(("loyalty_id", p.loyalty_id))
    return pairs


def _identifier_rows(p: Person, at: str, event_id: str) -> list[str]:
    """The person's identity links, each backed by `event_id`, the person's first event, which
    carries them all: a re-derivation rebuilds links from stored events, as the worker's are."""
    rule = "seen_together"
    return [
        f"{t}\t{_esc(v)}\t{p.customer_id}\t{event_id}\t{rule}\t{at}\n"
        for t, v in _identity_pairs(p)
    ]


def _customer_block(seed: int, p: Person, count: int, first_event: int) -> tuple[str, str, str]:
    """(customer row, timeline rows, channel rows) for one person."""
    rng = random.Random(seed * 7_919 + p.n)
    cid = p.customer_id
    email_only = orjson.dumps([{"type": "email", "value": p.email}]).decode()
    everything = orjson.dumps([{"type": t, "value": v} for t, v in _identity_pairs(p)]).decode()
    times = sorted(EPOCH - timedelta(seconds=rng.randrange(365 * 86400)) for _ in range(count))
    rows: list[str] = []
    channels: dict[str, tuple[int, datetime]] = {}
    for k, at in enumerate(times):
        channel, kind, source, summary = _shape(rng.random())
        attrs = orjson.dumps({"path": "/lamps", "order_id": f"W-{p.n}-{k}", "score": 9}).decode()
        ts = _ts(at)
        idents = everything if k == 0 else email_only
        rows.append(
            f"hist:{first_event + k}\t{cid}\t{channel}\t{kind}\t{ts}\t{ts}\t{source}\t"
            f"{summary}\t{_esc(attrs)}\t{_esc(idents)}\t{cid}\n"
        )
        n, _ = channels.get(channel, (0, at))
        channels[channel] = (n + 1, at)
    first = _ts(times[0]) if times else "\\N"
    last = _ts(times[-1]) if times else "\\N"
    traits = {"name": {"value": p.name, "at": first if times else _ts(EPOCH), "source": "segment"}}
    customer = f"{cid}\t{_ts(EPOCH)}\t{first}\t{last}\t{_esc(orjson.dumps(traits).decode())}\n"
    chan = "".join(f"{cid}\t{c}\t{n}\t{_ts(at)}\n" for c, (n, at) in channels.items())
    return customer, "".join(rows), chan


def load_history(
    url: str, seed: int, customers: int, events: int, progress: Callable[[str], None] = print
) -> LoadStats:
    """COPY `customers` people with `events` timeline rows in total into the database at `url`."""
    counts = event_counts(seed, customers, events)
    started, copy_s, idents, next_event = time.perf_counter(), 0.0, 0, 0
    with psycopg.connect(url) as conn:
        for lo in range(0, customers, CHUNK):
            cust, ident, tl, chan = [], [], [], []
            for n in range(lo, min(lo + CHUNK, customers)):
                p = person(seed, n)
                c, t, ch = _customer_block(seed, p, counts[n], next_event)
                ident.extend(_identifier_rows(p, _ts(EPOCH), f"hist:{next_event}"))
                next_event += counts[n]
                cust.append(c)
                tl.append(t)
                chan.append(ch)
            idents += len(ident)
            with conn.cursor() as cur:
                _copy(
                    cur, "customers (customer_id, created_at, first_seen, last_seen, traits)", cust
                )
                _copy(
                    cur,
                    "identifiers (id_type, id_value, customer_id, event_id, rule, first_seen)",
                    ident,
                )
                t0 = time.perf_counter()
                _copy(cur, f"timeline_events ({TIMELINE_COLUMNS})", tl)
                copy_s += time.perf_counter() - t0
                _copy(cur, "customer_channels (customer_id, channel, event_count, last_at)", chan)
            conn.commit()
            if (lo // CHUNK) % 20 == 0:
                progress(f"  history: {min(lo + CHUNK, customers):,}/{customers:,} customers")
        conn.execute("ANALYZE")
    return LoadStats(customers, idents, next_event, time.perf_counter() - started, copy_s)


def _copy(cur: psycopg.Cursor[object], target: str, blocks: list[str]) -> None:
    with cur.copy(f"COPY {target} FROM STDIN") as copy:  # target is a constant of this module
        for block in blocks:
            if block:
                copy.write(block)
