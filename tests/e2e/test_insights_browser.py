"""The insights page on the demo, in a real browser (Debian's chromium via Playwright), against
`threadline dev --demo` (a smaller demo, same generator): every figure present, the
customers behind one by name with the events that made them count, nothing cut off at 1280
and 800 px; and moments of truth raised by the running stack from events sent through the
gateway, delivered to Kafka and the webhook, and shown on the agent's profile card.
Screenshots go to build/test-artifacts (the README's come from there, in docs/)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from playwright.async_api import Browser, Page, expect

from services.synthetic import native
from services.synthetic.people import Person
from tests.support.browser import open_page
from tests.support.devstack import DevStackRun, dev_stack_run, wait_until
from tests.support.signals import Hook, consume, serving_hook

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

AGENT = {"Authorization": "Bearer dev-agent-key"}
TOTALS = (
    "contacts",
    "repeat_contact_rate",
    "fcr_rate",
    "channel_switch_rate",
    "failed_self_service_rate",
    "contacts_per_matter",
    "nps",
    "csat",
    "ces",
    "avg_hours_to_first_purchase",
)
FIGURES = (
    "chart-journey",
    "chart-channel",
    "chart-rates",
    "chart-scores",
    "chart-volume",
    "chart-self-service",
    "chart-purchase",
)


@pytest.fixture(scope="module")
def hook() -> Iterator[Hook]:
    with serving_hook() as h:
        yield h


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, hook: Hook) -> Iterator[DevStackRun]:
    """`threadline dev --demo` with 250 customers; rounds every second, signals to `hook`."""
    with dev_stack_run(
        tmp_path_factory.mktemp("demo"),
        THREADLINE_DEMO_CUSTOMERS="250",
        THREADLINE_INSIGHTS_INTERVAL_S="1",
        THREADLINE_SIGNAL_WEBHOOK_URL=hook.url,
    ) as run:
        run.start("--demo", timeout=240)
        yield run
        assert run.stop() == 0 and run.stop_seconds < 10 and run.leftovers() == []


async def _sign_in(page: Page, heading: str) -> None:
    await page.get_by_label("API key").fill("dev-agent-key")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name=heading)).to_be_visible()


async def _cut_off(page: Page) -> list[Any]:
    """Figure tables wider than their box, and the page wider than the window."""
    return list(
        await page.evaluate(
            """() => [...document.querySelectorAll('.table-box')]
                .filter(b => b.scrollWidth > b.clientWidth + 1)
                .map(b => b.getAttribute('aria-label') || b.getAttribute('aria-labelledby'))
                .concat(document.documentElement.scrollWidth >
                        document.documentElement.clientWidth ? ['page'] : [])"""
        )
    )


async def _every_figure(page: Page) -> None:
    await expect(page.locator("#status")).to_contain_text("Showing", timeout=20_000)
    await expect(page.locator("#as-of")).to_contain_text("Figures as of")
    for key in TOTALS:
        figure = page.locator(f'#totals [data-measure="{key}"] dd')
        await expect(figure).not_to_have_text("\u2013")  # the page's "no figure"
        await expect(figure).not_to_be_empty()
    for figure in FIGURES:
        canvas = await page.locator(f"#{figure} canvas").bounding_box()
        assert canvas is not None and canvas["width"] > 100 and canvas["height"] > 100, figure
        rows = page.locator(f"#{figure} tbody tr")
        assert await rows.count() >= 2, figure
        await expect(rows.first).not_to_contain_text("No figures")
    assert await page.locator("#paths tbody tr").count() >= 3


async def test_the_demo_insights_page_every_figure_names_and_no_cut_off(
    browser: Browser, demo: DevStackRun, artifacts_dir: Path
) -> None:
    page, problems = await open_page(browser, f"{demo.api}/insights", 1280, 900)
    await _sign_in(page, "Journey insights")
    await _every_figure(page)
    assert await _cut_off(page) == []
    # Repeating yourself costs NPS, in the journey table the screen reader reads.
    journey = page.get_by_role("region", name="NPS by what the customer went through: figures")
    await expect(journey.get_by_role("row", name="Switched channel")).to_contain_text("-")
    await page.screenshot(path=artifacts_dir / "insights-1280.png", full_page=True)

    # The customers behind the repeat-contact rate, by name, and why one of them counts.
    await page.locator('#totals [data-measure="repeat_contact_rate"] button').click()
    await expect(page.locator("#customers-title")).to_be_focused()
    await expect(page.locator("#customers-title")).to_contain_text("repeat contacts")
    first = page.locator("#customer-list > li").first
    name = await first.get_by_role("link").text_content()
    assert name and not name.startswith("cus_") and name != "(no name)"
    await first.get_by_role("button", name=f"Why {name} counts").click()
    events = first.get_by_role("list", name="Events behind the figure").get_by_role("listitem")
    await expect(events.nth(1)).to_be_visible()  # the repeat and the contact it repeats
    await page.locator("#customers").screenshot(path=artifacts_dir / "insights-drill.png")
    customer = await first.get_attribute("data-customer")
    await first.get_by_role("link").click()
    await expect(page).to_have_url(f"{demo.api}/#customer={customer}")
    await expect(page.locator("#profile-name")).to_have_text(name)
    assert problems == []
    await page.context.close()

    narrow, problems = await open_page(browser, f"{demo.api}/insights", 800, 900)
    await _sign_in(narrow, "Journey insights")
    await _every_figure(narrow)
    assert await _cut_off(narrow) == []
    await narrow.screenshot(path=artifacts_dir / "insights-800.png", full_page=True)
    assert problems == []
    await narrow.context.close()


def _send(ingest: str, path: str, body: bytes, content_type: str = native.JSON) -> None:
    resp = httpx.post(
        f"{ingest}{path}",
        content=body,
        headers={"Content-Type": content_type},
        auth=("dev-write-key", ""),
        timeout=15,
    )
    assert resp.is_success, resp.text


def _moment_of_truth(demo: DevStackRun, hook: Hook) -> str:
    """Maria's moment, raised when the demo loaded; then a new customer logs in, emails, and
    calls an hour later: the running stack raises it, to Kafka and the webhook. Returns the
    new customer's email."""
    maria = httpx.get(
        f"{demo.api}/v1/customers/lookup",
        params={"type": "phone", "value": "(415) 555-0132"},
        headers=AGENT,
    ).json()
    signals = httpx.get(f"{demo.api}/v1/customers/{maria['customer_id']}/signals", headers=AGENT)
    assert "unanswered_email" in {s["rule"] for s in signals.json()["signals"]}

    p = Person(9001, "lena", "ortiz", "lena.ortiz@example-mail.com", "+14155550199",
               "cust-9001", None, ("live-device",))  # fmt: skip
    start = datetime.now(UTC) - timedelta(hours=2)
    login = native.identify(p, "live-device", "live-i1", native.iso(start))
    _send(demo.ingest, native.SEGMENT, orjson.dumps({"batch": [login]}))
    sent = start + timedelta(minutes=5)
    mail = native.email((p.name, p.email), "help@example-shop.io", "Where is my refund?", sent,
                        "<live-1@example-mail.com>", "Hello?")  # fmt: skip
    _send(demo.ingest, native.EMAIL, mail, native.RFC822)
    at = start + timedelta(minutes=65)
    call = native.connect_contact(p.phone_e164, "live-call-1", at, {}, 4, "Billing")
    _send(demo.ingest, native.CONNECT, orjson.dumps([call]))

    def raised() -> dict[str, Any] | None:
        found = httpx.get(
            f"{demo.api}/v1/customers/lookup",
            params={"type": "email", "value": p.email},
            headers=AGENT,
        )
        if found.status_code != 200:
            return None
        cid = found.json()["customer_id"]
        mine = httpx.get(f"{demo.api}/v1/customers/{cid}/signals", headers=AGENT).json()
        return next((s for s in mine["signals"] if s["rule"] == "unanswered_email"), None)

    signal = wait_until(raised, 60, demo)
    assert signal["anchor_event_id"] == "amazon-connect:live-call-1"
    assert signal["detail"] == "called 60 min after emailing; no reply yet"
    assert demo.info is not None
    delivered = consume(demo.info.kafka_bootstrap, {signal["customer_id"]})
    assert [(d["rule"], d["anchor_event_id"]) for d in delivered] == [
        ("unanswered_email", "amazon-connect:live-call-1")
    ]
    wait_until(lambda: any(b["customer_id"] == signal["customer_id"] for b in hook.bodies), 30)
    return p.email


async def test_a_call_while_an_email_is_unanswered_is_a_moment_of_truth_in_the_running_stack(
    browser: Browser, demo: DevStackRun, hook: Hook, artifacts_dir: Path
) -> None:
    email = await asyncio.to_thread(_moment_of_truth, demo, hook)
    # The agent who answers sees it on the profile card.
    page, problems = await open_page(browser, f"{demo.api}/", 1280, 900)
    await page.get_by_label("API key").fill("dev-agent-key")
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_label("Find a customer").fill(email)
    await page.get_by_label("Find a customer").press("Enter")
    await expect(page.locator("#profile-name")).to_have_text("Lena Ortiz")
    badge = page.get_by_role("region", name="1 moment of truth")
    await expect(badge).to_contain_text("Unanswered email")
    await expect(badge).to_contain_text("called 60 min after emailing; no reply yet")
    await page.screenshot(path=artifacts_dir / "profile-badge.png", full_page=True)
    assert problems == []
    await page.context.close()
