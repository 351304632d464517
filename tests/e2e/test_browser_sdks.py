"""The vendors' own SDKs against the gateway, through the broker, worker and API.

In Debian's Chromium, a shop's page served from another origin (`localhost`, another port)
loads the real `@segment/analytics-next` from npm (its UMD build, served by the page; nothing
from a CDN: any request off this machine fails the test) with the public browser key and
only `cdnURL` pointed at the gateway; it sends page, track and an identify carrying the
`user_hash` the shop's backend computed (and, with analytics-next, a `navigator.sendBeacon`
as the page closes). The same with the RudderStack JavaScript SDK, whose
`configUrl` and data plane are the gateway. Then the RudderStack Node SDK in its default
settings (gzip) and analytics-python, as a shop's backends send.
"""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Route
from starlette.applications import Starlette
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route as PageRoute

from ingest.web.verification import user_hash
from services.embedded import free_port
from tests.support.browser import launch_browser
from tests.support.server import serving
from tests.support.trust_stack import BROWSER_KEY, SECRET, SERVER_KEY, Stack, trust_stack
from tests.support.worker import wait_for

pytestmark = pytest.mark.e2e

SDKS = Path(__file__).resolve().parent / "sdks"
MODULES = SDKS / "node_modules"
BUNDLES = {
    "analytics-next.js": MODULES / "@segment/analytics-next/dist/umd/index.js",
    "rudderstack.js": MODULES / "@rudderstack/analytics-js/dist/npm/modern/bundled/umd/index.js",
}
#: The shop's pages: load the SDK, send page, track and a verified identify, in that order.
PAGES = {
    "segment": """<script src="/sdk/analytics-next.js"></script><script>
window.run = async (c) => {
  const [analytics] = await AnalyticsNext.AnalyticsBrowser.load(
    { writeKey: c.key, cdnURL: c.gateway });
  await analytics.page("Shop", "Home");
  await analytics.track("Product Viewed", { sku: "JKT-7" });
  await analytics.identify(c.user, { email: c.email, name: "Maria Lopez" },
    { context: { user_hash: c.hash } });
  const anonymousId = analytics.user().anonymousId();
  // What a page sends as it closes: a beacon, which carries no headers (text/plain).
  const left = { type: "track", event: "Page Left", anonymousId, writeKey: c.key };
  if (!navigator.sendBeacon(c.gateway + "/v1/t", JSON.stringify(left))) return null;
  return anonymousId;
};</script>""",
    "rudderstack": """<script src="/sdk/rudderstack.js"></script><script>
window.run = (c) => new Promise((resolve) => {
  const ra = new rudderanalytics.RudderAnalytics();
  ra.load(c.key, c.gateway, { configUrl: c.gateway, logLevel: "ERROR",
    onLoaded: () => {
      ra.page("Shop", "Home");
      ra.track("Product Viewed", { sku: "JKT-7" });
      ra.identify(c.user, { email: c.email, name: "Maria Lopez" },
        { context: { user_hash: c.hash } });
      resolve(ra.getAnonymousId());
    } });
});</script>""",
}


def shop_site() -> Starlette:
    """The shop's web server: its pages and the SDK bundles it ships."""

    async def page(request: Any) -> HTMLResponse:
        return HTMLResponse(f"<!doctype html><title>Shop</title>{PAGES[request.path_params['n']]}")

    async def bundle(request: Any) -> FileResponse:
        return FileResponse(BUNDLES[request.path_params["f"]], media_type="text/javascript")

    async def no_icon(request: Any) -> Response:
        return Response(status_code=204)

    return Starlette(
        routes=[
            PageRoute("/{n}.html", page),
            PageRoute("/sdk/{f}", bundle),
            PageRoute("/favicon.ico", no_icon),
        ]
    )


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    missing = [str(p) for p in BUNDLES.values() if not p.exists()]
    if missing:
        pytest.fail(f"{missing} missing: run `make sdks` (npm ci in {SDKS})")
    port = free_port()
    with serving(shop_site(), port, "shop site"):
        yield f"http://localhost:{port}"


@pytest.fixture(scope="module")
async def chromium() -> AsyncIterator[Browser]:
    """One headless Chromium for the module's pages."""
    async with launch_browser() as browser:
        yield browser


@pytest.fixture(scope="module")
def stack(
    site: str, kafka_bootstrap: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("sdks")
    with trust_stack(kafka_bootstrap, database_url, logs, cors_origins=site) as s:
        yield s


def held(profile: dict[str, Any]) -> set[tuple[str, str]]:
    return {(i["type"], i["value"]) for i in profile["identifiers"]}


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("sdk", ["segment", "rudderstack"])
async def test_a_shops_page_sends_with_the_vendors_browser_sdk(
    chromium: Browser, site: str, stack: Stack, sdk: str
) -> None:
    tag = uuid.uuid4().hex[:8]
    user, email = f"{sdk}-{tag}", f"{sdk}-{tag}@shop.io"
    context = await chromium.new_context()
    off_machine: list[str] = []

    async def local_only(route: Route) -> None:
        if urlsplit(route.request.url).hostname in ("localhost", "127.0.0.1"):
            await route.continue_()
        else:
            off_machine.append(route.request.url)
            await route.abort()

    await context.route("**/*", local_only)
    page = await context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    await page.goto(f"{site}/{sdk}.html")
    config = {
        "key": BROWSER_KEY,
        "gateway": stack.gateway,
        "user": user,
        "email": email,
        # What the shop's backend computes and renders into the page for the signed-in user.
        "hash": user_hash(SECRET.encode(), user),
    }
    anonymous_id = await page.evaluate("c => window.run(c)", config)
    assert isinstance(anonymous_id, str) and anonymous_id

    kinds = ["identified", "page_viewed", "tracked"] + (["tracked"] if sdk == "segment" else [])

    def delivered() -> bool:
        r = stack.lookup("user_id", user)
        return r.status_code == 200 and len(stack.timeline(r.json()["customer_id"])) >= len(kinds)

    # Waits in a thread: the event loop keeps serving the page's requests (see `local_only`).
    try:
        await asyncio.to_thread(
            wait_for, delivered, 60, f"{sdk}'s calls on the customer's timeline"
        )
    finally:
        await context.close()
    profile = stack.lookup("user_id", user).json()
    items = stack.timeline(profile["customer_id"])
    assert sorted(i["kind"] for i in items) == kinds
    trust = {i["summary"]: i["trust"] for i in items}
    assert {s for s, t in trust.items() if t == "browser_verified"} == {"Identified"}
    assert set(trust.values()) == {"browser_verified", "browser_unverified"}
    # The device's browsing before the login joined the verified user; the email beside the
    # user id is the page's claim, shown, not linked.
    assert held(profile) == {("user_id", user), ("anonymous_id", anonymous_id)}
    assert [c["value"] for c in profile["unverified_claims"]] == [email]
    assert profile["traits"]["name"] == "Maria Lopez"
    assert off_machine == [] and problems == [], (off_machine, problems)


def test_the_rudderstack_node_sdk_in_its_default_settings(stack: Stack) -> None:
    tag = uuid.uuid4().hex[:8]
    user = f"node-{tag}"
    sent = subprocess.run(
        ["node", str(SDKS / "send_with_node_sdk.cjs"), stack.gateway, SERVER_KEY, user, tag],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert sent.returncode == 0, sent.stderr
    profile = stack.wait_for_event("user_id", user, f"segment:node-2-{tag}")
    assert ("email", f"{user}@shop.io") in held(profile)
    assert profile["traits"]["name"] == "Noor Haddad"
    kinds = {i["kind"]: i["trust"] for i in stack.timeline(profile["customer_id"])}
    assert kinds == {"identified": "server", "tracked": "server"}


def test_analytics_python_against_the_gateway(stack: Stack) -> None:
    from segment.analytics import Client

    tag = uuid.uuid4().hex[:8]
    errors: list[Exception] = []
    client = Client(
        SERVER_KEY, host=stack.gateway, sync_mode=True, on_error=lambda e, _b: errors.append(e)
    )
    client.identify(f"py-{tag}", {"phone": "(415) 555-0134", "name": "Ana Lima"}, message_id=tag)
    client.track(f"py-{tag}", "Order Completed", {"revenue": 10}, message_id=f"t-{tag}")
    assert errors == []
    profile = stack.wait_for_event("user_id", f"py-{tag}", f"segment:t-{tag}")
    assert ("phone", "+14155550134") in held(profile) and profile["traits"]["name"] == "Ana Lima"
