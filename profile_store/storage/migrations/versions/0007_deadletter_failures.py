"""Typed dead-letter failures: a failure type beside the message

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 10:00:00

Rows stored before get a type from what they hold. A `worker.write` row held the driver's first
line, which may quote the input (the field promised no PII): it keeps only the exception type.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: SQLAlchemy's wrappers of the errors a database raises about the data it was sent.
DATABASE_ERRORS = (
    "'DataError', 'IntegrityError', 'ProgrammingError', 'InternalError', 'NotSupportedError', "
    "'DatabaseError'"
)


def upgrade() -> None:
    op.add_column(
        "dead_letters",
        sa.Column(
            "failure_type", sa.Text(), server_default=sa.text("'unclassified'"), nullable=False
        ),
    )
    op.execute(
        "UPDATE dead_letters SET failure_type = CASE WHEN error LIKE 'unexpected %' "
        "THEN 'unexpected' ELSE 'invalid_event' END WHERE component = 'worker.decode'"
    )
    op.execute(
        f"UPDATE dead_letters SET "  # noqa: S608 - module constants only
        f"failure_type = CASE WHEN split_part(error, ':', 1) IN ({DATABASE_ERRORS}) "
        "THEN 'database_refused' ELSE 'unexpected' END, "
        f"error = CASE WHEN split_part(error, ':', 1) IN ({DATABASE_ERRORS}) "
        "THEN 'the database refused the data: ' || split_part(error, ':', 1) "
        "ELSE 'unexpected ' || split_part(error, ':', 1) END "
        "WHERE component = 'worker.write'"
    )


def downgrade() -> None:
    # The scrubbed `worker.write` messages are not restored.
    op.drop_column("dead_letters", "failure_type")
