"""The migration head, read from the packaged Alembic scripts (never a literal in tests)."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from profile_store import migrate


def head_revision() -> str:
    """The newest revision in profile_store/migrations/versions."""
    head = ScriptDirectory(str(migrate.MIGRATIONS_DIR)).get_current_head()
    assert head is not None
    return head
