"""The benchmark suite's pure parts: deterministic data, valid native payloads, statistics."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import orjson
import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from bench.baselines import canonical_records, cpu_probe
from bench.history import event_counts
from bench.journeys import SEGMENT, journeys
from bench.load import Tally, by_minute, with_marker
from bench.load import summarise as summarise_phase
from bench.people import person, phone_for
from bench.profiling import summarise
from bench.stack import BatchTotals
from bench.stats import percentile, percentiles
from schemas.errors import InvalidEvent
from schemas.events import decode_event
from schemas.identifiers import normalise_phone


def test_people_are_deterministic_and_distinct() -> None:
    assert person(7, 123) == person(7, 123)
    assert any(person(7, n).name != person(8, n).name for n in range(20))
    phones = {phone_for(n) for n in range(0, 3_000_000, 997)}
    assert len(phones) == len(range(0, 3_000_000, 997))
    p = person(1, 42)
    assert normalise_phone(p.phone_national) == p.phone_e164


def test_journeys_are_deterministic_and_batched_like_the_senders() -> None:
    first, again = journeys(3, 2_000, 100, 50), journeys(3, 2_000, 100, 50)
    assert [r.body for r in first] == [r.body for r in again]
    assert sum(r.events for r in first) >= 2_000
    assert {r.path for r in first} >= {SEGMENT, "/chat/events", "/store/receipts"}
    segment = [orjson.loads(r.body) for r in first if r.path == SEGMENT]
    assert max(len(b["batch"]) for b in segment) == 100


def test_journeys_map_through_the_real_adapters_with_shared_identifiers() -> None:
    requests = journeys(5, 1_500, 0, 0)
    records = canonical_records(requests)
    json_events = sum(r.events for r in requests if r.content_type == "application/json")
    assert len(records) == json_events
    events = [decode_event(value) for _, value, _ in records]
    assert len({e.event_id for e in events}) == len(events)
    channels_by_email: dict[str, set[str]] = {}
    for e in events:
        for i in e.identifiers:
            if i.type == "email":
                channels_by_email.setdefault(i.value, set()).add(e.channel.value)
    assert any(len(c) >= 3 for c in channels_by_email.values()), "stitching must be exercised"


def test_phases_do_not_repeat_events() -> None:
    a = canonical_records(journeys(9, 500, 1_000, 0, first=0))
    b = canonical_records(journeys(9, 500, 1_000, 0, first=10**6))
    ids = lambda rs: {decode_event(v).event_id for _, v, _ in rs}  # noqa: E731
    assert not ids(a) & ids(b)


def test_marker_rides_in_a_segment_batch_or_alone() -> None:
    segment = next(r for r in journeys(2, 300, 0, 0) if r.path == SEGMENT)
    marked = with_marker(segment, "fresh-x")
    assert marked.events == segment.events + 1
    assert orjson.loads(marked.body)["batch"][-1]["anonymousId"] == "fresh-x"
    chat = next(r for r in journeys(2, 3_000, 0, 0) if r.path == "/chat/events")
    alone = with_marker(chat, "fresh-y")
    assert (alone.path, alone.events) == (SEGMENT, 1)
    mapped = canonical_records([alone])
    assert decode_event(mapped[0][1]).occurred_at <= datetime.now(UTC)


def test_event_counts_are_skewed_and_exact() -> None:
    counts = event_counts(1, 1_000, 10_000)
    assert sum(counts) == 10_000
    assert max(counts) > 5 * (10_000 / 1_000)
    assert event_counts(1, 1_000, 10_000) == counts


def test_percentiles_by_nearest_rank() -> None:
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentiles([5.0])["p99"] == 5.0


def test_profile_summary_shares_self_and_inclusive_time() -> None:
    collapsed = (
        "main (services/cli.py:10);write (profile_store/writer.py:80);execute (psycopg/c.py:5) 3\n"
        "main (services/cli.py:10);decode_event (schemas/events.py:99) 1\n"
    )
    summary = summarise(collapsed)
    assert summary["samples"] == 4
    assert summary["self_pct"][0] == ("execute (psycopg/c.py)", 75.0)
    assert ("write (profile_store/writer.py)", 75.0) in summary["inclusive_pct_threadline"]


def test_cpu_probe_decodes_every_probe_event() -> None:
    records = canonical_records(journeys(42, 200, 10**8, 0, 0))
    assert len(records) >= 150
    micros = cpu_probe(records, rounds=1)
    assert 0 < micros < math.inf
    bad = [*records, (b"k", b"{not json", [])]
    with pytest.raises(InvalidEvent):
        cpu_probe(bad, rounds=1)


def test_batch_totals_read_the_worker_histograms_and_subtract() -> None:
    registry = CollectorRegistry()
    size = Histogram("threadline_worker_batch_size", "", buckets=(10, 100), registry=registry)
    seconds = Histogram("threadline_worker_batch_seconds", "", buckets=(0.1,), registry=registry)
    size.observe(40)
    seconds.observe(0.02)
    before = BatchTotals.from_metrics(generate_latest(registry).decode())
    for records, took in ((100, 0.05), (300, 0.15)):
        size.observe(records)
        seconds.observe(took)
    after = BatchTotals.from_metrics(generate_latest(registry).decode())
    two = BatchTotals(1, 10, 0.5) + after - before
    assert (after - before).summary() == pytest.approx(
        {"batches": 2, "mean_records": 200, "mean_ms": 100}
    )
    assert two.summary() == pytest.approx(
        {"batches": 3, "mean_records": 410 / 3, "mean_ms": 700 / 3}
    )
    assert BatchTotals.from_metrics("").summary() == {"batches": 0, "mean_records": 0, "mean_ms": 0}


def test_paced_summary_gives_each_minute_its_freshness_p99_and_largest_lag() -> None:
    assert by_minute([(0.0, "a"), (59.9, "b"), (125.0, "c"), (61.0, "d")]) == [
        ["a", "b"],
        ["d"],
        ["c"],
    ]
    tally = Tally(accepted=6_000, lag=[(1.0, 5), (30.0, 40), (70.0, 9), (130.0, 700)])
    tally.fresh_ms = [100.0, 300.0, 200.0, 2_500.0]
    tally.fresh_at = [2.0, 50.0, 65.0, 150.0]
    summary = summarise_phase(tally, 50.0, 120.0)
    assert summary["freshness_p99_by_minute_ms"] == [300.0, 200.0, 2_500.0]
    assert summary["max_lag_by_minute_events"] == [40, 9, 700]
    assert summary["max_lag_events"] == 700
    assert summary["achieved_events_per_s"] == 50.0
