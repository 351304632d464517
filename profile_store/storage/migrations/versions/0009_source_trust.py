"""Source trust on timeline events: the sender's trust level and its unverified claims

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 21:00:00

Events stored before came from server keys only (`server`, no claims). A partial index finds
a customer's newest events carrying claims, for the profile and the lineage.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "timeline_events",
        sa.Column("trust", sa.Text(), server_default=sa.text("'server'"), nullable=False),
    )
    op.add_column(
        "timeline_events",
        sa.Column("claims", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.create_index(
        "ix_timeline_claims",
        "timeline_events",
        ["customer_id", sa.text("occurred_at DESC"), sa.text("id DESC")],
        postgresql_where=sa.text("claims IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_timeline_claims", table_name="timeline_events")
    op.drop_column("timeline_events", "claims")
    op.drop_column("timeline_events", "trust")
