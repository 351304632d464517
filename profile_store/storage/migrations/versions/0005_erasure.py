"""erasure tombstones

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # HMAC-SHA256(salt, "type:value") of every identifier an erased customer held: no PII,
    # yet a replay or a late event carrying one of them is recognised and kept out.
    op.create_table(
        "erasure_tombstones",
        sa.Column("identifier_hash", sa.Text(), nullable=False),
        sa.Column("erasure_id", sa.Text(), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("identifier_hash", name="pk_erasure_tombstones"),
    )


def downgrade() -> None:
    op.drop_table("erasure_tombstones")
