"""CX insight: metric contributions, daily aggregates, refresh log, customer signals

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 13:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "insight_contributions",
        sa.Column("measure", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint(
            "measure", "day", "channel", "detail", "customer_id", name="pk_insight_contributions"
        ),
    )
    op.create_table(
        "insight_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("measure", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "measure", "channel", "detail", name="pk_insight_daily"),
    )
    op.create_table(
        "insight_refreshes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("as_of", TS, nullable=False),
        sa.Column("since", sa.Date(), nullable=True),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("seconds", sa.Double(), nullable=False),
        sa.Column("finished_at", TS, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_insight_refreshes"),
    )
    op.create_table(
        "customer_signals",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("anchor_event_id", sa.Text(), nullable=False),
        sa.Column("raised_at", TS, nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("published_at", TS, nullable=True),
        sa.Column("webhook_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_customer_signals"),
        sa.UniqueConstraint(
            "rule", "customer_id", "anchor_event_id", name="uq_customer_signals_anchor"
        ),
    )
    op.create_index(
        "ix_customer_signals_customer_id", "customer_signals", ["customer_id", "raised_at"]
    )
    op.create_index(
        "ix_customer_signals_unpublished",
        "customer_signals",
        ["id"],
        postgresql_where=sa.text("published_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("customer_signals")
    op.drop_table("insight_refreshes")
    op.drop_table("insight_daily")
    op.drop_table("insight_contributions")
