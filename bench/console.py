"""The agent console in a real browser (Debian's chromium, headless, via Playwright) against the
API on the loaded store: how soon the page first renders, and how soon a looked-up caller's
profile and first timeline page are on screen."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
from typing import Any, Final

from bench import BenchError
from bench.people import person
from bench.stack import AGENT_KEY
from bench.stats import percentiles

CHROMIUM: Final = os.environ.get("THREADLINE_BENCH_CHROMIUM", "/usr/bin/chromium")
ARGS: Final = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]

#: First contentful paint and DOMContentLoaded of a navigation, from the browser's own timing.
_PAINT_JS: Final = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  return {dom_content_loaded_ms: nav.domContentLoadedEventEnd, load_ms: nav.loadEventEnd,
          first_contentful_paint_ms: fcp ? fcp.startTime : null};
}"""

_PAINTED_JS: Final = "() => performance.getEntriesByName('first-contentful-paint').length > 0"
_CLEAR_JS: Final = """() => {
  document.getElementById('timeline').replaceChildren();
  document.getElementById('profile-name').textContent = '';
}"""
#: When the profile's name and the first timeline item are both rendered: performance.now().
_RENDERED_JS: Final = """() => {
  const name = document.getElementById('profile-name');
  const first = document.querySelector('#timeline li');
  return name && name.textContent.trim() && first && first.offsetParent !== null
    ? performance.now() : null;
}"""


async def _measure(api_url: str, seed: int, customers: int, loads: int, lookups: int) -> Any:
    from playwright.async_api import async_playwright

    rng = random.Random(seed ^ 0xC0)
    paints: dict[str, list[float]] = {}
    lookup_ms: list[float] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            # Cold: a new context each time (no cache, no session). One unmeasured load first
            # starts the browser's own processes, which no agent waits for twice.
            warm = await browser.new_context()
            await (await warm.new_page()).goto(f"{api_url}/", wait_until="load")
            await warm.close()
            for i in range(loads):
                context = await browser.new_context(viewport={"width": 1280, "height": 900})
                page = await context.new_page()
                await page.goto(f"{api_url}/", wait_until="load")
                # The paint entry can land just after `load`: wait for it rather than skip it.
                await page.wait_for_function(_PAINTED_JS, polling="raf", timeout=10_000)
                for key, value in (await page.evaluate(_PAINT_JS)).items():
                    if value is not None:
                        paints.setdefault(key, []).append(float(value))
                if i < loads - 1:
                    await context.close()
            await page.get_by_label("API key").fill(AGENT_KEY)
            await page.get_by_role("button", name="Sign in").click()
            search = page.get_by_label("Find a customer")
            for _ in range(lookups):
                who = person(seed, rng.randrange(customers))
                await search.fill(who.phone_national)
                await page.evaluate(_CLEAR_JS)
                started = await page.evaluate("performance.now()")
                await search.press("Enter")
                # Checked on every animation frame, so the figure is not rounded up to a
                # polling interval; the page records when it saw both on screen.
                rendered = await page.wait_for_function(_RENDERED_JS, polling="raf", timeout=10_000)
                lookup_ms.append(float(await rendered.json_value()) - started)
        finally:
            await browser.close()
    return {
        "page_loads": loads,
        **{f"{k}_p50": percentiles(v)["p50"] for k, v in paints.items()},
        **{f"{k}_max": max(v) for k, v in paints.items()},
        "first_contentful_paint_ms_all": paints.get("first_contentful_paint_ms", []),
        "lookups": lookups,
        "lookup_to_profile_and_timeline_ms": percentiles(lookup_ms),
    }


def measure(api_url: str, seed: int, customers: int, loads: int = 10, lookups: int = 40) -> Any:
    """Cold page loads (paint timings) and lookups typed into the search box (to rendered)."""
    if shutil.which(CHROMIUM) is None:
        raise BenchError(f"{CHROMIUM} is missing: run `make chromium`")
    return asyncio.run(_measure(api_url, seed, customers, loads, lookups))
