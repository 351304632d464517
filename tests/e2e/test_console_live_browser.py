"""The agent's console during live calls, in Debian's chromium against the real stack.

One `threadline dev` (embedded broker and PostgreSQL, worker, gateway, API) and one browser
serve the module; everything reaches the stack through the gateway in the channel systems'
own formats (Segment, mail, Amazon Connect, Shopify, Twilio TaskRouter, a CTI's screen pop).
Each test uses customers of its own. Timings are recorded in build/test-artifacts, never
asserted (the machine is shared); the screenshots of the README are taken here.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from playwright.async_api import Browser, Page, expect

from api.settings import hash_key
from tests.support.browser import launch_browser, open_page, scrolls_sideways
from tests.support.console_stack import (
    ADMIN_KEY,
    AGENT_KEY,
    Gateway,
    Person,
    channel_count,
    wait_for_profile,
)
from tests.support.devstack import DevStackRun, dev_stack_run

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

OTHER_AGENT_KEY = "desk-b-key-for-console-tests"
#: The pop test's own agent: its pops stay fresh for minutes (a console opened during the
#: call gets them), and must not reach the consoles the later tests open as dev-agent.
POP_AGENT_KEY = "desk-a-key-for-console-tests"
TIMELINE = "Interactions, newest first"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStackRun]:
    """`threadline dev` with two more agents, `desk-a` and `desk-b`, beside the dev keys."""
    keys = [
        {"name": "desk-a", "role": "agent", "sha256": hash_key(POP_AGENT_KEY)},
        {"name": "desk-b", "role": "agent", "sha256": hash_key(OTHER_AGENT_KEY)},
    ]
    with dev_stack_run(
        tmp_path_factory.mktemp("console"), THREADLINE_API_KEYS=json.dumps(keys)
    ) as run:
        run.start()
        yield run
        assert run.stop() == 0


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launch_browser() as b:
        yield b


@pytest.fixture
async def gateway(stack: DevStackRun) -> AsyncIterator[Gateway]:
    gw = Gateway(stack.ingest)
    yield gw
    await gw.close()


def _phone(n: int) -> str:
    return f"+1415555{n:04d}"


async def _console(
    browser: Browser, stack: DevStackRun, key: str, path: str = "/", width: int = 1280
) -> tuple[Page, list[str]]:
    """A signed-in console tab (strict CSP) at `path`."""
    page, problems = await open_page(browser, stack.api + path, width, 900)
    await page.get_by_label("API key").fill(key)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_label("Find a customer")).to_be_visible()
    return page, problems


async def _find(page: Page, query: str, name: str) -> None:
    await page.get_by_label("Find a customer").fill(query)
    await page.get_by_label("Find a customer").press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_have_text(name)


def _times(ats: list[str]) -> list[int]:
    return [int(a) for a in ats]


async def _in_time_order(page: Page) -> None:
    """Every item of the timeline is newer than or as new as the one below it."""
    ats = _times(
        await page.locator("#timeline > li").evaluate_all("ns => ns.map(n => n.dataset.at)")
    )
    assert ats == sorted(ats, reverse=True), ats


def _record(artifacts: Path, name: str, value: Any) -> None:
    path = artifacts / "console-live-timings.json"
    held = orjson.loads(path.read_bytes()) if path.exists() else {}
    path.write_bytes(orjson.dumps({**held, name: value}, option=orjson.OPT_INDENT_2))


async def test_a_pop_reaches_the_named_agents_console_and_no_one_elses(
    browser: Browser, stack: DevStackRun, gateway: Gateway, artifacts_dir: Path
) -> None:
    ana = Person("Ana Tanaka", "ana.tanaka@mail.example.net", _phone(170))
    now = datetime.now(UTC)
    await gateway.identify(ana, now - timedelta(days=2))
    await gateway.pages(ana, [now - timedelta(days=2, minutes=m) for m in (1, 4, 9, 12)])
    created = (now - timedelta(days=2)).isoformat()
    await gateway.shopify("orders/create", ana, 72001017, created_at=created, updated_at=created)
    text = "My parcel shows delivered but it is not here"
    await gateway.chat(ana, "ana-1", text, now - timedelta(hours=3))
    survey = {
        "response_id": "ana-nps",
        "metric": "nps",
        "score": 6,
        "comment": "Slow delivery",
        "responded_at": (now - timedelta(hours=2)).isoformat(),
        "respondent": {"email": ana.email},
    }
    await gateway.post("/surveys/responses", json=survey)
    await gateway.email(ana, "Where is my parcel?", now - timedelta(hours=1))
    await wait_for_profile(stack.api, ("phone", ana.phone), channel_count("email", 1))
    mine, problems = await _console(browser, stack, POP_AGENT_KEY)
    theirs, _ = await _console(browser, stack, OTHER_AGENT_KEY)
    await expect(mine.locator("#live")).to_have_count(1)

    # The CTI announces Ana's call for desk-a: desk-a's idle console opens her.
    contact = str(uuid.uuid4())
    started = time.perf_counter()
    pop = await gateway.screen_pop("desk-a", ana, contact)
    await expect(mine.locator("#call")).to_be_visible(timeout=15_000)
    latencies = [round((time.perf_counter() - started) * 1000)]
    await expect(mine.get_by_role("heading", level=1)).to_have_text("Ana Tanaka")
    await expect(mine.locator("#call")).to_contain_text("Call in progress")
    await expect(mine.locator("#call")).to_contain_text("(415) 555-0170")
    await expect(mine.locator("#pop-announce")).to_have_text(
        "Incoming call: Ana Tanaka. Profile open."
    )
    timeline = mine.get_by_role("list", name=TIMELINE)
    ringing = timeline.locator(f'li[data-event-id="{pop["event_id"]}"]')
    await expect(ringing).to_contain_text("Call ringing")
    await expect(ringing.locator(".badge")).to_have_text("In progress")
    await expect(timeline.locator(":scope > li").first).to_have_attribute(
        "data-event-id", pop["event_id"]
    )
    await expect(mine.locator("#live")).to_have_text("Live")
    await expect(mine.locator("#profile")).to_contain_text("NPS 6 / 10 · detractor")
    await mine.screenshot(path=artifacts_dir / "console-live-1280.png", full_page=True)
    await mine.set_viewport_size({"width": 800, "height": 900})
    assert not await scrolls_sideways(mine), "the page scrolls sideways at 800 px"
    await mine.screenshot(path=artifacts_dir / "console-live-800.png", full_page=True)
    await mine.set_viewport_size({"width": 1280, "height": 900})
    # Nothing reached the other agent's console (it had the same time to get it, and more).
    await theirs.wait_for_timeout(1500)
    await expect(theirs.locator("#view")).to_be_hidden()
    await expect(theirs.locator("#call")).to_be_hidden()

    # The contact record arrives: the in-progress item becomes the call, in place.
    await gateway.connect_record(
        ana, contact, now - timedelta(minutes=5), datetime.now(UTC), agent="desk-a"
    )
    await expect(ringing).to_contain_text("Call (inbound, 4m 0s) with agent desk-a", timeout=15_000)
    await expect(ringing.locator(".badge")).to_have_text("Updated")
    await expect(timeline.locator(f'li[data-event-id="{pop["event_id"]}"]')).to_have_count(1)
    await expect(mine.locator("#call")).to_contain_text("Call ended")

    # Twilio TaskRouter: a reservation for desk-b pops on desk-b's console only.
    task = "WT" + uuid.uuid4().hex
    started = time.perf_counter()
    await gateway.taskrouter("reservation.created", "desk-b", ana, task)
    await expect(theirs.locator("#call")).to_be_visible(timeout=15_000)
    latencies.append(round((time.perf_counter() - started) * 1000))
    await expect(theirs.get_by_role("heading", level=1)).to_have_text("Ana Tanaka")
    await expect(theirs.get_by_role("list", name=TIMELINE)).to_contain_text("Call ringing")
    await expect(mine.get_by_role("list", name=TIMELINE)).to_contain_text(
        "Call ringing", timeout=15_000
    )
    assert (
        await mine.locator("#call").text_content() != await theirs.locator("#call").text_content()
    )
    # A few more pops, for the latency figure.
    for _ in range(3):
        started = time.perf_counter()
        await mine.locator("#call-dismiss").click()
        await gateway.screen_pop("desk-a", ana, str(uuid.uuid4()))
        await expect(mine.locator("#call")).to_be_visible(timeout=15_000)
        latencies.append(round((time.perf_counter() - started) * 1000))
    _record(artifacts_dir, "screen_pop_ms", latencies)
    assert problems == []
    await mine.context.close()
    await theirs.context.close()


async def test_late_events_land_in_time_order_and_an_edited_order_updates_in_place(
    browser: Browser, stack: DevStackRun, gateway: Gateway
) -> None:
    ben = Person("Ben Okafor", "ben.okafor@mail.example.net", _phone(171))
    now = datetime.now(UTC)
    await gateway.identify(ben, now - timedelta(days=1))
    await gateway.email(ben, "Broken zip on my jacket", now - timedelta(hours=5))
    await gateway.shopify(
        "orders/create",
        ben,
        71001001,
        created_at=(now - timedelta(hours=4)).isoformat(),
        updated_at=(now - timedelta(hours=4)).isoformat(),
    )
    await wait_for_profile(stack.api, ("email", ben.email), channel_count("store", 1))
    page, problems = await _console(browser, stack, AGENT_KEY)
    await _find(page, ben.email, "Ben Okafor")
    await expect(page.locator("#live")).to_have_text("Live")
    timeline = page.get_by_role("list", name=TIMELINE)
    items = timeline.locator(":scope > li")

    # A new email, then 20 page views stamped two to three hours ago: the email stays on top,
    # the browsing lands as one visit where its time puts it (below the email, above the order).
    await gateway.email(ben, "Re: Broken zip", datetime.now(UTC))
    await expect(items.first).to_contain_text("Email: Re: Broken zip", timeout=15_000)
    late = [now - timedelta(hours=3) + timedelta(minutes=3 * i) for i in range(20)]
    await gateway.pages(ben, late)
    visit = timeline.locator(":scope > li.visit", has_text="Web visit: 20 pages")
    await expect(visit).to_have_count(1, timeout=15_000)
    await expect(items.first).to_contain_text("Email: Re: Broken zip")
    await expect(items.nth(1)).to_have_class("item visit channel-web new")
    await expect(items.nth(2)).to_contain_text("#1001")
    await _in_time_order(page)

    # All activity: a chat an hour old lands below the newer email, not on top.
    await page.get_by_label("All activity").check()
    await expect(items.first).to_contain_text("Email: Re: Broken zip")
    await gateway.chat(ben, "ben-1", "Any news on the zip?", now - timedelta(hours=1))
    chat = timeline.locator(":scope > li", has_text="Any news on the zip?")
    await expect(chat).to_have_count(1, timeout=15_000)
    await expect(items.nth(1)).to_contain_text("Any news on the zip?")
    await expect(page.locator("#live-announce")).to_contain_text("Earlier Chat added in time order")
    await _in_time_order(page)

    # Shopify updates the order: its one item changes in place, nothing is added.
    count = await items.count()
    order = timeline.locator(":scope > li", has_text="#1001")
    await gateway.shopify(
        "orders/updated",
        ben,
        71001001,
        created_at=(now - timedelta(hours=4)).isoformat(),
        updated_at=datetime.now(UTC).isoformat(),
    )
    await expect(order.locator(".badge")).to_have_text("Updated", timeout=15_000)
    await expect(items).to_have_count(count)
    await order.locator("summary").first.click()
    await expect(order.locator("table.lines")).to_contain_text("Qty")
    await _in_time_order(page)
    assert problems == []
    await page.context.close()


async def test_a_live_merge_reloads_the_view_and_says_what_happened(
    browser: Browser, stack: DevStackRun, gateway: Gateway
) -> None:
    older = Person("Cara Diaz", "cara.diaz@mail.example.net")
    newer = Person("C. Diaz", None, _phone(172))
    now = datetime.now(UTC)
    await gateway.identify(older, now - timedelta(days=3))
    await gateway.email(older, "Invoice copy please", now - timedelta(days=2))
    first = await wait_for_profile(stack.api, ("email", older.email), channel_count("email", 1))
    await gateway.identify(newer, now - timedelta(days=1))
    second = await wait_for_profile(stack.api, ("phone", newer.phone))
    page, problems = await _console(browser, stack, AGENT_KEY)
    await _find(page, "(415) 555-0172", "C. Diaz")
    await expect(page.locator("#live")).to_have_text("Live")
    assert second["customer_id"] in page.url

    # Her account page links the two: the newer profile is merged into the older one.
    both = Person("Cara Diaz", older.email, newer.phone)
    await gateway.identify(both, datetime.now(UTC))
    notice = page.locator("#notice")
    await expect(notice).to_be_visible(timeout=15_000)
    await expect(notice).to_contain_text(
        f"This customer ({second['customer_id']}) was merged into Cara Diaz"
    )
    await expect(page.get_by_role("heading", level=1)).to_have_text("Cara Diaz")
    await expect(page.get_by_role("list", name=TIMELINE)).to_contain_text("Invoice copy please")
    assert page.url.endswith(f"#customer={first['customer_id']}")
    assert problems == []
    await page.context.close()


async def test_the_deep_link_a_cti_opens_finds_the_customer(
    browser: Browser, stack: DevStackRun, gateway: Gateway
) -> None:
    dee = Person("Dee Larsen", "dee.larsen@mail.example.net", _phone(173))
    await gateway.identify(dee, datetime.now(UTC) - timedelta(hours=2))
    profile = await wait_for_profile(stack.api, ("phone", dee.phone))
    # The CTI's URL template: /?q=<the caller's number>. The agent signs in, the caller opens.
    page, problems = await _console(browser, stack, AGENT_KEY, "/?q=555-0173")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Dee Larsen")
    assert page.url.endswith(f"/#customer={profile['customer_id']}")
    # Signed in already: a customer id, an email.
    for query in (profile["customer_id"], "Dee.Larsen@mail.example.net"):
        await page.goto(f"{stack.api}/?q={query}")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Dee Larsen")
    # A name matching two customers: the agent chooses, seeing how each matched and when
    # each was last seen.
    await gateway.identify(Person("Dee Ward", "dee.ward@mail.example.net"), datetime.now(UTC))
    await wait_for_profile(stack.api, ("email", "dee.ward@mail.example.net"))
    await page.goto(f"{stack.api}/?q=Dee")
    choices = page.locator("#result-list button")
    await expect(choices).to_have_count(2)
    await expect(choices.first).to_contain_text("Dee Ward")
    await expect(choices.first).to_contain_text("matched name")
    await expect(choices.first).to_contain_text("last seen")
    await choices.nth(1).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Dee Larsen")
    assert problems == []
    await page.context.close()


async def test_lineage_explains_every_link_and_admins_unmerge_and_merge(
    browser: Browser, stack: DevStackRun, gateway: Gateway, artifacts_dir: Path
) -> None:
    eve = Person("Eve Moreau", "eve.moreau@mail.example.net")
    alias = Person("Evie", None, _phone(174))
    now = datetime.now(UTC)
    # Two customers (Eve's the older: the survivor), then one.
    await gateway.identify(eve, now - timedelta(days=5))
    await wait_for_profile(stack.api, ("email", eve.email))
    await gateway.identify(alias, now - timedelta(days=4))
    await wait_for_profile(stack.api, ("phone", alias.phone))
    await gateway.identify(Person("Eve Moreau", eve.email, alias.phone), now - timedelta(days=3))
    profile = await wait_for_profile(
        stack.api, ("phone", alias.phone), lambda p: bool(p["merged_ids"])
    )
    merged_id = profile["merged_ids"][0]
    with stack.database() as db:  # a claim a browser made without verification (issue 17)
        db.execute(
            "INSERT INTO identity_conflicts (customer_id, id_type, id_value, event_id, reason) "
            "VALUES (%s, 'email', 'eve.m@claims.example.net', 'browser:claim-1', "
            "'unverified:browser')",
            (profile["customer_id"],),
        )
    page, problems = await _console(browser, stack, ADMIN_KEY, width=800)
    await _find(page, eve.email, "Eve Moreau")
    await page.get_by_role("button", name="Why these identifiers are linked").click()
    lineage = page.locator("#lineage")
    links = lineage.locator(".lineage-links > li")
    await expect(links).to_have_count(4)  # email, phone and the two browsers' devices
    phone = links.filter(has_text="(415) 555-0174")
    await expect(phone).to_contain_text("seen together with this customer's identifiers")
    await expect(phone).to_contain_text("trusted source")
    await expect(phone.locator("q")).to_have_text("Identified")
    await expect(phone.locator("time")).to_have_count(1)
    claim = lineage.locator(".lineage-conflicts > li.unverified")
    await expect(claim).to_contain_text("eve.m@claims.example.net")
    await expect(claim.locator(".badge")).to_have_text("unverified")
    merge = lineage.locator(f'li[data-merged-id="{merged_id}"]')
    await expect(merge.locator("strong")).to_have_text("Evie")
    await page.screenshot(path=artifacts_dir / "console-lineage-800.png", full_page=True)

    # Split Evie off: a confirmation (Cancel changes nothing), then the audit entry.
    await merge.get_by_role("button", name="Split Evie off this profile").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_contain_text("Split Evie off this profile?")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(merge).to_be_visible()
    await merge.get_by_role("button", name="Split Evie off this profile").click()
    await dialog.get_by_role("button", name="Split off").click()
    notice = page.locator("#notice")
    await expect(notice).to_contain_text(f"Evie ({merged_id}) was split off this profile.")
    await expect(notice).to_contain_text("Audit: unmerge by dev-admin (admin)")
    await expect(lineage).to_contain_text("None: this profile was never merged")
    # And merge her back by customer id.
    await lineage.get_by_label("Merge another customer into this one (customer id)").fill(merged_id)
    await lineage.get_by_role("button", name="Merge…").click()
    await dialog.get_by_role("button", name="Merge", exact=True).click()
    await expect(notice).to_contain_text(f"Evie ({merged_id}) was merged into this profile")
    await expect(notice).to_contain_text("Audit: manual merge by dev-admin (admin)")
    await expect(lineage.locator(f'li[data-merged-id="{merged_id}"]')).to_have_count(1)
    assert not await scrolls_sideways(page), "the page scrolls sideways at 800 px"
    await page.screenshot(path=artifacts_dir / "console-admin-800.png", full_page=True)
    assert problems == []
    await page.context.close()

    # An agent reads the same lineage without the admin's controls.
    agent, _ = await _console(browser, stack, AGENT_KEY)
    await _find(agent, eve.email, "Eve Moreau")
    await agent.get_by_role("button", name="Why these identifiers are linked").click()
    await expect(agent.locator(".lineage-merges")).to_contain_text("Evie")
    await expect(agent.get_by_role("button", name="Split Evie off this profile")).to_have_count(0)
    await agent.context.close()
