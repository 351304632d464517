"""The agent console in a real browser: Debian's chromium, headless, driven by Playwright.

The API runs on a real uvicorn server against the session's PostgreSQL; the journey is
written through the real TimelineWriter, and so is the event that must appear live. The
page is served with a strict `Content-Security-Policy: default-src 'self'` added to the
document, so inline scripts or styles would break it. Screenshots go to build/test-artifacts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from profile_store.write.writer import TimelineWriter
from tests.support.api import ADMIN, AGENT, api_settings, running_api
from tests.support.browser import open_page
from tests.support.journey import (
    MARIA_PHONE_NATIONAL,
    OPEN_CHAT_TEXT,
    OPEN_EMAIL_SUBJECT,
    chat_message,
    maria_journey,
    other_customers,
)

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]


async def _open_console(
    browser: Browser, base: str, width: int, height: int
) -> tuple[Page, list[str]]:
    """A fresh tab on the console under a strict CSP; the list collects console errors."""
    return await open_page(browser, f"{base}/", width, height)


async def _sign_in_and_find_maria(page: Page) -> float:
    """Sign in and look Maria up by her national-format number; milliseconds from pressing
    Enter to her profile and first timeline page on screen (recorded, never asserted)."""
    await page.get_by_label("API key").fill(AGENT)
    await page.get_by_role("button", name="Sign in").click()
    search = page.get_by_label("Find a customer")
    await expect(search).to_be_focused()
    return await _find_maria(page)


async def _find_maria(page: Page) -> float:
    search = page.get_by_label("Find a customer")
    await search.fill(MARIA_PHONE_NATIONAL)
    await page.evaluate("document.getElementById('timeline').replaceChildren()")
    started = await page.evaluate("performance.now()")
    await search.press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Maria Lopez")
    await expect(page.locator("#timeline li").first).to_be_visible()
    return float(await page.evaluate("performance.now()")) - float(started)


async def test_agent_finds_a_caller_sees_everything_and_watches_it_live(
    browser: Browser, engine: AsyncEngine, clean_db: str, artifacts_dir: Path
) -> None:
    now = datetime.now(UTC)
    writer = TimelineWriter(engine)
    journey = maria_journey(now)
    await writer.write(journey)
    await writer.write(other_customers(now))
    app = create_app(api_settings(clean_db, stream_poll_interval=0.2))
    with running_api(app) as base:
        page, problems = await _open_console(browser, base, 1280, 900)
        shell_ms = await page.evaluate(
            "performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd"
        )
        timings = {
            "page_dom_content_loaded_ms": shell_ms,
            "lookup_to_render_cold_ms": await _sign_in_and_find_maria(page),
            "lookup_to_render_warm_ms": await _find_maria(page),
        }
        (artifacts_dir / "console-timings.json").write_bytes(orjson.dumps(timings))
        timeline = page.get_by_role("list", name="Interactions, newest first")
        items = timeline.locator(":scope > li")
        # Contacts first: the email subject and the chat message straight away, the 60 page
        # views of two months ago as visits below them, "Last contact" the survey.
        await expect(timeline).to_contain_text(f"Email: {OPEN_EMAIL_SUBJECT}")
        await expect(timeline).to_contain_text(OPEN_CHAT_TEXT)
        await expect(page.locator("#profile")).to_contain_text("Waiting for a reply")
        await expect(page.locator("#profile")).to_contain_text("W-5001")
        await expect(page.locator("#profile")).to_contain_text("NPS 9 / 10 · promoter")
        await expect(items.nth(0)).to_contain_text("NPS 9")
        contacts = timeline.locator(":scope > li:not(.visit)")
        await expect(contacts).to_have_count(9)
        await expect(items.nth(9)).to_contain_text("Web visit: 1 event")  # the login
        # Details expand from the keyboard: the email's sender, subject and excerpt first.
        first_email = timeline.locator("summary", has_text=OPEN_EMAIL_SUBJECT)
        await first_email.focus()
        await page.keyboard.press("Enter")
        opened = timeline.locator("details[open]")
        await expect(opened.locator(".facts-list")).to_contain_text(f"Subject{OPEN_EMAIL_SUBJECT}")
        await expect(opened.locator(".excerpt")).to_have_text("Hi, about my order...")
        await expect(opened).to_contain_text("thread id")
        await expect(page.locator("#live")).to_have_text("Live")
        await page.screenshot(path=artifacts_dir / "console-1280-profile.png", full_page=True)

        # A new chat message while the agent is on the call: it appears without a reload.
        live_text = "I'm calling about my order now"
        await writer.write([chat_message("chat:conv-9:1", datetime.now(UTC), "conv-9", live_text)])
        await expect(items.first).to_contain_text(live_text, timeout=15_000)
        await expect(contacts).to_have_count(10)
        await page.screenshot(path=artifacts_dir / "console-1280-live.png", full_page=True)

        # One click shows everything; page back through the whole history.
        await page.get_by_label("All activity").check()
        await expect(items).to_have_count(30)
        older = page.get_by_role("button", name="Show older")
        shown, total = 30, len(journey) + 1
        while shown < total:
            await older.click()
            shown = min(shown + 30, total)
            await expect(items).to_have_count(shown)
        await expect(older).to_be_hidden()
        await expect(items.last).to_contain_text("Viewed /catalogue/page-0")

        # Filter by channel.
        await page.get_by_label("Email", exact=True).check()
        await expect(items).to_have_count(3)
        await page.get_by_label("Email", exact=True).uncheck()
        await expect(items).to_have_count(30)

        # "/" jumps back to the search box.
        await page.locator("body").click(position={"x": 5, "y": 300})
        await page.keyboard.press("/")
        await expect(page.get_by_label("Find a customer")).to_be_focused()
        assert problems == []
        await page.context.close()

        # The same at phone width.
        phone, problems = await _open_console(browser, base, 390, 844)
        await _sign_in_and_find_maria(phone)
        timeline = phone.get_by_role("list", name="Interactions, newest first")
        await expect(timeline).to_contain_text(OPEN_CHAT_TEXT)
        overflow = await phone.evaluate(
            "document.documentElement.scrollWidth > document.documentElement.clientWidth"
        )
        assert not overflow, "the page scrolls sideways at phone width"
        await phone.screenshot(path=artifacts_dir / "console-390-profile.png", full_page=True)
        # A name prefix matches several customers: the agent picks one from the keyboard.
        await phone.keyboard.press("/")
        await phone.keyboard.type("mar")
        await phone.keyboard.press("Enter")
        choices = phone.get_by_role("list").filter(has_text="matched name").get_by_role("button")
        await expect(choices).to_have_count(3)
        await expect(choices.first).to_be_focused()
        await phone.screenshot(path=artifacts_dir / "console-390-results.png", full_page=True)
        await phone.keyboard.press("Tab")
        await phone.keyboard.press("Enter")
        await expect(phone.get_by_role("heading", level=1)).to_have_text("Marianne Dupont")
        assert problems == []
        await phone.context.close()

        # Every view was audited under the agent's key.
        async with httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {ADMIN}"}
        ) as admin:
            audit = (await admin.get("/v1/audit", params={"actor": "desk"})).json()["items"]
        actions = {e["action"] for e in audit}
        assert {"search", "profile_view", "timeline_view", "stream_open"} <= actions


async def test_a_wrong_key_is_refused_with_a_message(
    browser: Browser, clean_db: str, engine: AsyncEngine
) -> None:
    app = create_app(api_settings(clean_db))
    with running_api(app) as base:
        page, _ = await _open_console(browser, base, 1280, 900)
        await page.get_by_label("API key").fill("not-a-key")
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("alert")).to_contain_text("not accepted")
        await expect(page.get_by_label("Find a customer")).to_be_hidden()
        await page.context.close()
