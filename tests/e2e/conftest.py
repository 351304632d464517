"""Browser-test fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser

from tests.support.browser import launch_browser


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless chromium for one test."""
    async with launch_browser() as b:
        yield b
