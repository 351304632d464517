"""The console and insights pages: served with the strict CSP, every asset local (the vendored
Chart.js from /static, byte-for-byte what its README pins), no other host referenced."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.security import CSP
from tests.support.api import api_client, api_settings

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

VENDOR = Path(__file__).parents[2] / "api" / "web" / "static" / "vendor"
ATTRIBUTE = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)


@pytest.fixture
async def client(clean_db: str, engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(create_app(api_settings(clean_db), engine=engine), key=None) as c:
        yield c


@pytest.mark.parametrize("path", ["/", "/insights"])
async def test_pages_are_strict_and_reference_only_their_own_origin(
    client: httpx.AsyncClient, path: str
) -> None:
    page = await client.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == CSP
    assert "unsafe-inline" not in CSP and "http" not in CSP
    html = page.text
    assert "<script>" not in html and "style=" not in html and "<style" not in html
    links = [link for link in ATTRIBUTE.findall(html) if not link.startswith("#")]
    assert links, "the page references its assets"
    for link in links:
        assert link.startswith("/") and not link.startswith("//"), link
    for link in links:
        asset = await client.get(link)
        assert asset.status_code == 200, link
    assert ('href="/insights"' in html) and ('href="/"' in html)


async def test_the_vendored_chart_library_is_served_as_pinned(client: httpx.AsyncClient) -> None:
    page = (await client.get("/insights")).text
    (src,) = [s for s in ATTRIBUTE.findall(page) if "/vendor/" in s]
    assert src.startswith("/static/vendor/chartjs/chart.umd.min.js")
    served = await client.get(src)
    assert served.status_code == 200
    assert "javascript" in served.headers["content-type"]
    assert served.headers["content-security-policy"] == CSP
    digest = hashlib.sha256(served.content).hexdigest()
    readme = (VENDOR / "README.md").read_text()
    assert f"`{digest}`" in readme and "4.6.1" in readme
    assert (VENDOR / "chartjs" / "LICENSE.md").read_text().startswith("The MIT License")
