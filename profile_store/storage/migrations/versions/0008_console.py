"""agent console: screen pops, the latest assisted contact, phones found by their end

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 21:00:00

The predicates and expressions below must match `profile_store.read.summary` and
`profile_store.read.search` exactly, or the planner cannot use these indexes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "screen_pops",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("pop_id", sa.Text, nullable=False),
        sa.Column("agent", sa.Text, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("rang_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_screen_pops"),
        sa.UniqueConstraint("pop_id", name="uq_screen_pops_pop_id"),
    )
    op.create_index("ix_screen_pops_agent", "screen_pops", ["agent", "id"])
    op.create_index("ix_screen_pops_customer_id", "screen_pops", ["customer_id"])
    op.create_index("ix_screen_pops_created_at", "screen_pops", ["created_at"])
    # "Last contact": the latest event that is not web activity, however much browsing
    # came after it.
    op.execute(
        "CREATE INDEX ix_timeline_contacts ON timeline_events "
        "(customer_id, occurred_at DESC, id DESC) WHERE channel <> 'web'"
    )
    # A local number typed without its area code (`555-0132`) matches the end of a phone.
    op.execute(
        "CREATE INDEX ix_identifiers_phone_reversed ON identifiers "
        "(reverse(id_value) text_pattern_ops) WHERE id_type = 'phone'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_identifiers_phone_reversed")
    op.execute("DROP INDEX ix_timeline_contacts")
    op.drop_table("screen_pops")
