"""Integration fixtures: an async engine on the emptied session database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from profile_store.db import make_async_engine


@pytest.fixture
async def engine(clean_db: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a database emptied for the test (modules may override it)."""
    eng = make_async_engine(clean_db, pool_size=2)
    yield eng
    await eng.dispose()
