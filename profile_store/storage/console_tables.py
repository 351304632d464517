"""Tables of the agent console: screen pops on their way to an agent's open console."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Identity, Index, Table, Text, func

from profile_store.storage.tables import metadata

TS = DateTime(timezone=True)

#: A call announced for an agent (`POST /call-centre/screen-pop`, Twilio TaskRouter), written
#: by the worker once the call's event is in a timeline, so `customer_id` is the caller's
#: customer. API processes read new rows by `id` and push them to that agent's consoles. No
#: identifier values: the customer id and the call's event id only. Rows are short-lived.
screen_pops = Table(
    "screen_pops",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    #: Deterministic from the source (a redelivered or repeated announcement pops once).
    Column("pop_id", Text, nullable=False, unique=True),
    #: The API key name of the agent whose console shows it.
    Column("agent", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("customer_id", Text, nullable=False),
    #: When the call reached the agent (ring time at the source).
    Column("rang_at", TS, nullable=False),
    Column("created_at", TS, nullable=False, server_default=func.now()),
    Index("ix_screen_pops_agent", "agent", "id"),
    Index("ix_screen_pops_customer_id", "customer_id"),
    Index("ix_screen_pops_created_at", "created_at"),
)
