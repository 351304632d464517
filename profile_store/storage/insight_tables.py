"""Tables of the CX insight: per-customer metric contributions, daily aggregates, signals."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Double,
    Identity,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)

from profile_store.storage.tables import metadata

TS = DateTime(timezone=True)

#: One customer's additive share of a measure on a day and channel (`detail`: a path). The
#: customers behind a figure are read from here; a refresh replaces a customer's rows whole.
insight_contributions = Table(
    "insight_contributions",
    metadata,
    Column("measure", Text, nullable=False),
    Column("day", Date, nullable=False),
    Column("channel", Text, nullable=False),
    Column("detail", Text, nullable=False, server_default=text("''")),
    Column("customer_id", Text, nullable=False),
    Column("value", Double, nullable=False),
    PrimaryKeyConstraint("measure", "day", "channel", "detail", "customer_id"),
)

#: The sum of the contributions per measure, day, channel and detail.
insight_daily = Table(
    "insight_daily",
    metadata,
    Column("day", Date, nullable=False),
    Column("measure", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("detail", Text, nullable=False, server_default=text("''")),
    Column("value", Double, nullable=False),
    Column("customers", Integer, nullable=False),
    PrimaryKeyConstraint("day", "measure", "channel", "detail"),
)

#: Each refresh: what it covered and as of when (the API reports the latest).
insight_refreshes = Table(
    "insight_refreshes",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("as_of", TS, nullable=False),
    Column("since", Date, nullable=True),
    Column("customers", Integer, nullable=False),
    Column("events", BigInteger, nullable=False),
    Column("seconds", Double, nullable=False),
    Column("finished_at", TS, nullable=False, server_default=func.now()),
)

#: Moments of truth: one row per (rule, customer, anchor event); `published_at` and
#: `webhook_at` make the Kafka and webhook deliveries an outbox.
customer_signals = Table(
    "customer_signals",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("rule", Text, nullable=False),
    Column("customer_id", Text, nullable=False),
    Column("anchor_event_id", Text, nullable=False),
    Column("raised_at", TS, nullable=False),
    Column("detail", Text, nullable=False),
    Column("created_at", TS, nullable=False, server_default=func.now()),
    Column("published_at", TS, nullable=True),
    Column("webhook_at", TS, nullable=True),
    UniqueConstraint("rule", "customer_id", "anchor_event_id", name="uq_customer_signals_anchor"),
    Index("ix_customer_signals_customer_id", "customer_id", "raised_at"),
    Index("ix_customer_signals_unpublished", "id", postgresql_where=text("published_at IS NULL")),
)
