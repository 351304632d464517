"""identity constraints, give-way conflicts, event origin, audit log

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 12:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # The customer an event was first assigned to; merges never change it, so an unmerge
    # can give a split-off customer back its original id.
    op.add_column("timeline_events", sa.Column("origin_customer_id", sa.Text(), nullable=True))
    op.create_table(
        "identity_constraints",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("a_type", sa.Text(), nullable=False),
        sa.Column("a_value", sa.Text(), nullable=False),
        sa.Column("b_type", sa.Text(), nullable=False),
        sa.Column("b_value", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("kind IN ('separate', 'together')", name="ck_identity_constraints_kind"),
        sa.PrimaryKeyConstraint("id", name="pk_identity_constraints"),
        sa.UniqueConstraint(
            "kind", "a_type", "a_value", "b_type", "b_value", name="uq_identity_constraints_pair"
        ),
    )
    op.create_index("ix_identity_constraints_a", "identity_constraints", ["a_type", "a_value"])
    op.create_index("ix_identity_constraints_b", "identity_constraints", ["b_type", "b_value"])
    op.create_table(
        "identity_conflicts",
        sa.Column("id_type", sa.Text(), nullable=False),
        sa.Column("id_value", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_at", TS, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id_type", "id_value", "event_id", name="pk_identity_conflicts"),
    )
    op.create_index("ix_identity_conflicts_customer_id", "identity_conflicts", ["customer_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=True),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_customer_id", "audit_log", ["customer_id", "at"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("identity_conflicts")
    op.drop_table("identity_constraints")
    op.drop_column("timeline_events", "origin_customer_id")
