"""Browser-test helpers: Debian's chromium, headless, driven by Playwright, and a fresh tab on
a page served with a strict `Content-Security-Policy: default-src 'self'`."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from playwright.async_api import Browser, Page, Route, async_playwright

CHROMIUM = os.environ.get("THREADLINE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CSP = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"


@asynccontextmanager
async def launch_browser() -> AsyncIterator[Browser]:
    """Headless chromium; fails the test naming the fix when it is not installed."""
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (apt-get install chromium)")
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        await browser.close()


async def open_page(
    browser: Browser, url: str, width: int, height: int, csp_paths: tuple[str, ...] = ()
) -> tuple[Page, list[str]]:
    """A fresh tab on `url` with the strict CSP on it (and on `csp_paths`, absolute URLs of
    other pages it links to); the list collects console errors and warnings."""
    context = await browser.new_context(viewport={"width": width, "height": height})
    page = await context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(m.text) if m.type in ("error", "warning") else None,
    )
    page.on("pageerror", lambda e: problems.append(str(e)))

    async def strict_csp(route: Route) -> None:
        response = await route.fetch()
        headers = {**response.headers, "content-security-policy": CSP}
        await route.fulfill(response=response, headers=headers)

    for target in (url.split("#")[0], *csp_paths):
        await page.route(target, strict_csp)
    await page.goto(url)
    return page, problems


async def scrolls_sideways(page: Page) -> bool:
    """True when the page is wider than its viewport (a layout that does not fit)."""
    return bool(
        await page.evaluate(
            "document.documentElement.scrollWidth > document.documentElement.clientWidth"
        )
    )
