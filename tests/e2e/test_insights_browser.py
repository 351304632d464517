"""The insights page in a real browser (headless chromium, Playwright) against the real app and
PostgreSQL: the generated journey set with known answers is written through the real
TimelineWriter, refreshed and evaluated by the real code, then read through the charts' data
tables, filtered, and followed to a customer's profile with its moments-of-truth badge.
Screenshots go to build/test-artifacts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from profile_store.insights import signal_store
from profile_store.insights.rules import RuleConfig
from profile_store.storage.engines import make_sync_engine
from tests.integration.test_insights import run_refresh, write
from tests.support.api import AGENT, api_settings, running_api
from tests.support.browser import open_page
from tests.support.journeys import AS_OF, START, expected_totals, journey_set

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

PER_SCRIPT = 3
FROM, TO = START.date().isoformat(), (START + timedelta(days=40)).date().isoformat()


async def _sign_in(page: Page) -> None:
    await page.get_by_label("API key").fill(AGENT)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Journey insights")).to_be_visible()


async def _apply(page: Page, channels: tuple[str, ...] = ()) -> None:
    await page.get_by_label("From").fill(FROM)
    await page.get_by_label("To", exact=True).fill(TO)
    for box in await page.locator("#channels input").all():
        label = await box.evaluate("b => b.parentElement.textContent.trim()")
        await box.set_checked(label in channels)
    await page.get_by_role("button", name="Apply").click()
    await expect(page.locator("#status")).to_contain_text(f"Showing {FROM} to {TO}")


def _total(page: Page, measure: str) -> Locator:
    return page.locator(f'#totals [data-measure="{measure}"] dd')


async def test_insights_page_charts_filters_customers_and_the_badge(
    browser: Browser, engine: AsyncEngine, clean_db: str, artifacts_dir: Path
) -> None:
    journeys = journey_set(per_script=PER_SCRIPT)
    ids = await write(engine, journeys)
    run_refresh(clean_db)
    sync = make_sync_engine(clean_db)
    try:
        assert signal_store.record_signals(sync, RuleConfig(), START, AS_OF) == 3 * PER_SCRIPT
    finally:
        sync.dispose()
    expected = expected_totals(journeys)
    contacts = sum(v for (_c, m), v in expected.items() if m == "contacts")
    chat_contacts = expected[("chat", "contacts")]

    app = create_app(api_settings(clean_db))
    with running_api(app) as base:
        page, problems = await open_page(
            browser, f"{base}/insights", 1280, 900, csp_paths=(f"{base}/",)
        )
        await _sign_in(page)
        await _apply(page)
        # Every chart drew on its canvas; the known figures are in the totals and data tables.
        canvases = page.locator("figure.chart canvas")
        await expect(canvases).to_have_count(5)
        for canvas in await canvases.all():
            box = await canvas.bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 100
        await expect(_total(page, "contacts")).to_have_text(f"{contacts:,}")
        await expect(_total(page, "repeat_contact_rate")).to_have_text(
            f"{round(100 * 6 / 11, 2)} %"  # 6 repeats of 11 assisted contacts
        )
        nps = page.get_by_role("region", name="NPS by channel: figures")
        await expect(nps.get_by_role("row", name="Call centre")).to_contain_text("-100")
        await expect(nps.get_by_role("row", name="Email")).to_contain_text("100")
        paths = page.get_by_role("region", name="Top channel paths")
        await expect(
            paths.get_by_role("row", name="Store → Email → Call centre → Chat")
        ).to_contain_text(str(PER_SCRIPT))
        await page.screenshot(path=artifacts_dir / "insights-1280.png", full_page=True)

        # Only chat: the figures change, and the volume table has a chat column only.
        await _apply(page, ("Chat",))
        await expect(_total(page, "contacts")).to_have_text(str(chat_contacts))
        volume = page.get_by_role("region", name="Contact volume per day, by channel: figures")
        await expect(volume.locator("thead th")).to_have_text(["Day", "Chat", "Total"])

        # Only store: every store contact is an order chaser's, who has a moment of truth.
        await _apply(page, ("Store",))
        first = volume.get_by_role("button").first
        await first.focus()
        await page.keyboard.press("Enter")
        listing = page.get_by_role("region", name="Customers behind Store contacts")
        await expect(page.locator("#customers-title")).to_be_focused()
        links = listing.get_by_role("link")
        await expect(links.first).to_be_visible()
        chasers = {ids[j.customer] for j in journeys if j.script == "order_chaser"}
        customer = await links.first.text_content()
        assert customer in chasers
        await links.first.click()
        await expect(page).to_have_url(f"{base}/#customer={customer}")
        badge = page.get_by_role("region", name="1 moment of truth")
        await expect(badge).to_be_visible()
        await expect(badge).to_contain_text("Repeated contacts about one order")
        await expect(badge).to_contain_text("contact 3 about one order")
        await page.screenshot(path=artifacts_dir / "profile-badge.png", full_page=True)

        # A customer without signals shows no badge.
        buyer = next(j for j in journeys if j.script == "buyer")
        await page.get_by_label("Find a customer").fill(f"{buyer.customer}@journeys.test")
        await page.get_by_label("Find a customer").press("Enter")
        await expect(page).to_have_url(f"{base}/#customer={ids[buyer.customer]}")
        await expect(page.locator("#profile-body")).to_contain_text("journeys.test")
        await expect(page.locator("#profile-signals")).to_be_hidden()
        # And back to the insights page from the header, still signed in.
        await page.get_by_role("link", name="Insights").click()
        await expect(page.get_by_role("heading", name="Journey insights")).to_be_visible()
        assert problems == []
        await page.context.close()

        # Phone width: same page, no sideways scrolling.
        phone, problems = await open_page(browser, f"{base}/insights", 390, 844)
        await _sign_in(phone)
        await _apply(phone)
        await expect(_total(phone, "contacts")).to_have_text(f"{contacts:,}")
        overflow = await phone.evaluate(
            "document.documentElement.scrollWidth > document.documentElement.clientWidth"
        )
        assert not overflow, "the insights page scrolls sideways at phone width"
        await phone.screenshot(path=artifacts_dir / "insights-390.png", full_page=True)
        assert problems == []
        await phone.context.close()
