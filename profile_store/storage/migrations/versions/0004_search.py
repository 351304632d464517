"""agent view: identifier and name search, conversation and order lookups

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 12:40:00

The expressions and predicates below must match `profile_store.read.search` and
`profile_store.read.summary` exactly, or the planner cannot use these indexes.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME_DOCUMENT = (
    "to_tsvector('simple'::regconfig, "
    "coalesce(traits -> 'name' ->> 'value', '') || ' ' || "
    "coalesce(traits -> 'first_name' ->> 'value', '') || ' ' || "
    "coalesce(traits -> 'last_name' ->> 'value', ''))"
)
CONVERSATIONS = "channel IN ('email', 'chat')"
ORDERS = "kind IN ('order_placed', 'order_fulfilled', 'order_collected', 'order_cancelled', 'return')"


def upgrade() -> None:
    # Case-insensitive exact and prefix matches on any identifier value (search box).
    op.execute(
        "CREATE INDEX ix_identifiers_value_lower ON identifiers (lower(id_value) text_pattern_ops)"
    )
    # Word-prefix search over the name traits.
    op.execute(f"CREATE INDEX ix_customers_name_search ON customers USING gin ({NAME_DOCUMENT})")
    # The profile summary: open email/chat threads and the latest order, without walking
    # a long web-browsing history.
    op.execute(
        "CREATE INDEX ix_timeline_conversations ON timeline_events "
        f"(customer_id, occurred_at DESC, id DESC) WHERE {CONVERSATIONS}"
    )
    op.execute(
        "CREATE INDEX ix_timeline_orders ON timeline_events "
        f"(customer_id, occurred_at DESC, id DESC) WHERE {ORDERS}"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_timeline_orders")
    op.execute("DROP INDEX ix_timeline_conversations")
    op.execute("DROP INDEX ix_customers_name_search")
    op.execute("DROP INDEX ix_identifiers_value_lower")
