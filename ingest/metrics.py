"""Prometheus metrics of the ingest gateway, on a registry owned by each app instance."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class IngestMetrics:
    """Events accepted, requests rejected, publish and request latency."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.accepted = Counter(
            "threadline_ingest_events_accepted",
            "Events acknowledged by the broker, by channel and source.",
            ["channel", "source"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "threadline_ingest_rejects",
            "Requests answered with an error, by reason code.",
            ["code"],
            registry=self.registry,
        )
        self.browser_events = Counter(
            "threadline_ingest_browser_events",
            "Events accepted from browser write keys, by trust level (browser_verified: "
            "context.user_hash verified the user; browser_unverified: the device only).",
            ["trust"],
            registry=self.registry,
        )
        self.publish_latency = Histogram(
            "threadline_ingest_publish_seconds",
            "Time from sending a request's events to the broker's last acknowledgement.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.request_latency = Histogram(
            "threadline_ingest_request_seconds",
            "HTTP request latency by method, route template and status.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
