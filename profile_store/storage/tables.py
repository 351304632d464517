"""SQLAlchemy 2 table definitions: the storage rows (never returned by the API directly)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

TS = DateTime(timezone=True)

customers = Table(
    "customers",
    metadata,
    Column("customer_id", Text, primary_key=True),
    # Set when this customer was merged away: always the canonical survivor (no chains).
    Column("merged_into", Text, ForeignKey("customers.customer_id"), nullable=True),
    Column("created_at", TS, nullable=False, server_default=func.now()),
    Column("first_seen", TS, nullable=True),
    Column("last_seen", TS, nullable=True),
    # {trait: {"value": v, "at": iso, "source": s}}
    Column("traits", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    # Latest survey score per metric: {"nps": {"score", "scale_max", "at", "event_id", ...}}
    Column("cx", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Index(
        "ix_customers_merged_into", "merged_into", postgresql_where=text("merged_into IS NOT NULL")
    ),
    # Word-prefix search over the name traits (migration 0004).
    Index(
        "ix_customers_name_search",
        text(
            "to_tsvector('simple'::regconfig, "
            "coalesce(traits -> 'name' ->> 'value', '') || ' ' || "
            "coalesce(traits -> 'first_name' ->> 'value', '') || ' ' || "
            "coalesce(traits -> 'last_name' ->> 'value', ''))"
        ),
        postgresql_using="gin",
    ),
)

identifiers = Table(
    "identifiers",
    metadata,
    Column("id_type", Text, nullable=False),
    Column("id_value", Text, nullable=False),
    # Always the canonical customer: merges move identifiers to the survivor.
    Column("customer_id", Text, ForeignKey("customers.customer_id"), nullable=False),
    Column("event_id", Text, nullable=False),
    Column("rule", Text, nullable=False),
    Column("first_seen", TS, nullable=False),
    PrimaryKeyConstraint("id_type", "id_value"),
    Index("ix_identifiers_customer_id", "customer_id"),
    # Case-insensitive exact and prefix matches on any value (migration 0004).
    Index("ix_identifiers_value_lower", text("lower(id_value) text_pattern_ops")),
    # A phone number found by its end: a local number typed without its area code (0008).
    Index(
        "ix_identifiers_phone_reversed",
        text("reverse(id_value) text_pattern_ops"),
        postgresql_where=text("id_type = 'phone'"),
    ),
)

timeline_events = Table(
    "timeline_events",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("event_id", Text, nullable=False, unique=True),
    # Always the canonical customer: merges move timeline rows to the survivor.
    Column("customer_id", Text, ForeignKey("customers.customer_id"), nullable=False),
    Column("channel", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("occurred_at", TS, nullable=False),
    Column("received_at", TS, nullable=False),
    Column("source", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("attributes", JSONB, nullable=False),
    Column("identifiers", JSONB, nullable=False),
    Column("written_at", TS, nullable=False, server_default=func.now()),
    # The customer the event was first assigned to: merges never change it, so an unmerge
    # can give a split-off customer back its original id.
    Column("origin_customer_id", Text, nullable=True),
    # The sender's trust level (`schemas.trust.Trust`) and the identifiers a browser source
    # claimed without verification (never linked; migration 0009).
    Column("trust", Text, nullable=False, server_default=text("'server'")),
    # None is SQL NULL (not JSON null): the partial index and `claims IS NOT NULL` rely on it.
    Column("claims", JSONB(none_as_null=True), nullable=True),
    Index("ix_timeline_customer_time", "customer_id", text("occurred_at DESC"), text("id DESC")),
    Index(
        "ix_timeline_claims",
        "customer_id",
        text("occurred_at DESC"),
        text("id DESC"),
        postgresql_where=text("claims IS NOT NULL"),
    ),
    # The profile summary's open threads and latest order (migration 0004).
    Index(
        "ix_timeline_conversations",
        "customer_id",
        text("occurred_at DESC"),
        text("id DESC"),
        postgresql_where=text("channel IN ('email', 'chat')"),
    ),
    Index(
        "ix_timeline_orders",
        "customer_id",
        text("occurred_at DESC"),
        text("id DESC"),
        postgresql_where=text(
            "kind IN ('order_placed', 'order_fulfilled', 'order_collected', "
            "'order_cancelled', 'return')"
        ),
    ),
    # The latest assisted contact, past any amount of web activity (migration 0008).
    Index(
        "ix_timeline_contacts",
        "customer_id",
        text("occurred_at DESC"),
        text("id DESC"),
        postgresql_where=text("channel <> 'web'"),
    ),
)

customer_channels = Table(
    "customer_channels",
    metadata,
    Column("customer_id", Text, ForeignKey("customers.customer_id"), nullable=False),
    Column("channel", Text, nullable=False),
    Column("event_count", BigInteger, nullable=False),
    Column("last_at", TS, nullable=False),
    PrimaryKeyConstraint("customer_id", "channel"),
)

merges = Table(
    "merges",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("merged_id", Text, ForeignKey("customers.customer_id"), nullable=False),
    Column("survivor_id", Text, ForeignKey("customers.customer_id"), nullable=False),
    Column("event_id", Text, nullable=False),
    Column("rule", Text, nullable=False),
    Column("identifiers", JSONB, nullable=False),
    Column("merged_at", TS, nullable=False, server_default=func.now()),
    Index("ix_merges_survivor_id", "survivor_id"),
    Index("ix_merges_merged_id", "merged_id"),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    # sha256 of component + original bytes: a redelivered poison record counts attempts.
    Column("fingerprint", Text, nullable=False, unique=True),
    # `schemas.deadletter.Component`, and the `Failure`: its type and its message (`error`).
    Column("component", Text, nullable=False),
    Column("failure_type", Text, nullable=False, server_default=text("'unclassified'")),
    Column("error", Text, nullable=False),
    Column("original", LargeBinary, nullable=False),
    Column("topic", Text, nullable=True),
    Column("partition", Integer, nullable=True),
    Column("offset", BigInteger, nullable=True),
    Column("key", LargeBinary, nullable=True),
    Column("event_id", Text, nullable=True),
    Column("first_seen", TS, nullable=False),
    Column("last_seen", TS, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("1")),
    Column("replayed_at", TS, nullable=True),
    Index("ix_dead_letters_last_seen", "last_seen"),
)

#: Admin decisions the stitching must respect: `separate` (never in one customer, set by an
#: unmerge) and `together` (one customer, set by a manual merge), each between two identifiers.
identity_constraints = Table(
    "identity_constraints",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("kind", Text, nullable=False),
    Column("a_type", Text, nullable=False),
    Column("a_value", Text, nullable=False),
    Column("b_type", Text, nullable=False),
    Column("b_value", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", TS, nullable=False, server_default=func.now()),
    CheckConstraint("kind IN ('separate', 'together')", name="ck_identity_constraints_kind"),
    UniqueConstraint(
        "kind", "a_type", "a_value", "b_type", "b_value", name="uq_identity_constraints_pair"
    ),
    Index("ix_identity_constraints_a", "a_type", "a_value"),
    Index("ix_identity_constraints_b", "b_type", "b_value"),
)

#: Identifiers an event carried that were not linked (a per-type limit or a separation made
#: them give way): explains the profile, and tells a re-derivation whom the event touched.
identity_conflicts = Table(
    "identity_conflicts",
    metadata,
    Column("id_type", Text, nullable=False),
    Column("id_value", Text, nullable=False),
    Column("customer_id", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("recorded_at", TS, nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("id_type", "id_value", "event_id"),
    Index("ix_identity_conflicts_customer_id", "customer_id"),
)

#: Who looked at or changed whose data: profile views, lookups, merges, erasures.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("at", TS, nullable=False, server_default=func.now()),
    Column("actor", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("customer_id", Text, nullable=True),
    Column("detail", JSONB, nullable=False),
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_customer_id", "customer_id", "at"),
)

#: Salted hashes (HMAC-SHA256 of "type:value") of the identifiers of erased customers: events
#: carrying one are dropped (or, by policy, start a fresh profile on explicit new consent).
erasure_tombstones = Table(
    "erasure_tombstones",
    metadata,
    Column("identifier_hash", Text, primary_key=True),
    Column("erasure_id", Text, nullable=False),
    Column("erased_at", TS, nullable=False, server_default=func.now()),
)

# The insight tables live in their own module; importing it here registers them on `metadata`
# wherever the core tables are used (migrations, the schema check, test clean-up).
from profile_store.storage import console_tables as _console_tables  # noqa: E402, F401
from profile_store.storage import insight_tables as _insight_tables  # noqa: E402, F401
