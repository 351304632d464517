"""`/docs` and `/redoc` of the API and of the ingest gateway render in Chromium with nothing
but this machine: every request stays on loopback, scripts come from the package under a
CSP without inline scripts, and the operations are on the page."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Request

from api.app import create_app as create_api
from ingest.app import create_app as create_gateway
from ingest.settings import IngestSettings
from runtime.docs import DOCS_CSP
from services.embedded import free_port
from tests.support.api import api_settings
from tests.support.server import serving

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture(scope="module")
def servers(database_url: str) -> Iterator[dict[str, str]]:
    gateway = IngestSettings(
        port=free_port(), kafka_bootstrap=f"127.0.0.1:{free_port()}", write_keys="docs-key"
    )
    with (
        serving(create_api(api_settings(database_url)), free_port(), "api") as api,
        serving(create_gateway(gateway), gateway.port, "gateway") as ingest,
    ):
        yield {"api": api, "ingest": ingest}


@pytest.mark.parametrize(
    ("server", "page", "wait_for", "operation"),
    [
        ("api", "/docs", ".opblock", "Find the canonical profile by any identifier"),
        ("api", "/redoc", "h2", "Find the canonical profile by any identifier"),
        ("ingest", "/docs", ".opblock", "/v1/batch"),
    ],
)
async def test_docs_render_offline_from_the_package(
    browser: Browser,
    servers: dict[str, str],
    server: str,
    page: str,
    wait_for: str,
    operation: str,
) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    tab = await context.new_page()
    problems: list[str] = []
    hosts: set[str] = set()
    tab.on("pageerror", lambda e: problems.append(str(e)))
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)

    def record(request: Request) -> None:
        hosts.add(urlsplit(request.url).hostname or request.url.split(":", 1)[0])

    # Only requests that reached a server: ReDoc's side menu asks for a Redocly logo on
    # cdn.redoc.ly, which the page's CSP (img-src 'self' data:) stops before it leaves.
    tab.on("requestfinished", record)
    response = await tab.goto(servers[server] + page)
    assert response is not None and response.status == 200
    assert response.headers["content-security-policy"] == DOCS_CSP
    await tab.wait_for_selector(wait_for, timeout=20_000)
    assert await tab.get_by_text(operation).count() > 0
    assert hosts <= {"127.0.0.1", "blob", "data"}, hosts
    blocked = [p for p in problems if "Content Security Policy" in p]
    assert all("cdn.redoc.ly" in p for p in blocked), blocked  # scripts and styles all ran
    await context.close()
