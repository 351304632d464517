"""Prometheus metrics of the stream worker (no identifiers in labels: they are PII)."""

from prometheus_client import Counter, Histogram

EVENTS_CONSUMED = Counter("threadline_worker_events_consumed_total", "Records taken from Kafka")
EVENTS_WRITTEN = Counter(
    "threadline_worker_events_written_total", "Timeline rows written", ["channel", "source"]
)
DUPLICATES = Counter("threadline_worker_duplicates_total", "Redelivered events skipped")
DEAD_LETTERS = Counter(
    "threadline_worker_dead_letters_total", "Records dead-lettered", ["component"]
)
MERGES = Counter("threadline_worker_merges_total", "Customers merged into another")
CUSTOMERS_CREATED = Counter("threadline_worker_customers_created_total", "New customers")
IDENTITY_CONFLICTS = Counter(
    "threadline_worker_identity_conflicts_total",
    "Identifiers not linked because of a per-type limit or an admin separation",
)
ERASED_DROPPED = Counter(
    "threadline_worker_erased_events_dropped_total",
    "Events dropped because an identifier they carry belongs to an erased person",
)
CUSTOMERS_REDERIVED = Counter(
    "threadline_worker_customers_rederived_total",
    "Customers rebuilt in time order because an event arrived too late to apply incrementally",
)
SCREEN_POPS = Counter(
    "threadline_worker_screen_pops_total", "Screen pops recorded for agents' consoles"
)
DB_RETRIES = Counter(
    "threadline_worker_db_retries_total", "Batch writes retried after a transient error"
)
BATCH_SIZE = Histogram(
    "threadline_worker_batch_size",
    "Records per batch",
    buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000),
)
BATCH_SECONDS = Histogram(
    "threadline_worker_batch_seconds",
    "Time to process one batch",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
LAG_SECONDS = Histogram(
    "threadline_worker_event_lag_seconds",
    "From adapter acceptance (received_at) to timeline commit",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
