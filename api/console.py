"""The agent console at `GET /` and the insights page at `GET /insights`: server-rendered
pages plus local static assets (Chart.js vendored under `/static/vendor`).

The pages hold no customer data: the browser signs in with an API key (kept in
sessionStorage), then calls the JSON API with it, so every read is authenticated and
audited like any other client's. No inline scripts or styles and no third-party hosts, so
it runs under `Content-Security-Policy: default-src 'self'`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from schemas import Channel

WEB_DIR: Final = Path(__file__).with_name("web")
STATIC_PATH: Final = "/static"
CHANNEL_LABELS: Final = {
    Channel.WEB: "Web",
    Channel.CHAT: "Chat",
    Channel.EMAIL: "Email",
    Channel.CALL_CENTRE: "Call centre",
    Channel.STORE: "Store",
    Channel.SURVEY: "Survey",
}

templates = Jinja2Templates(directory=WEB_DIR / "templates")
router = APIRouter(include_in_schema=False)


def _page(request: Request, template: str, page: str) -> HTMLResponse:
    response = templates.TemplateResponse(
        request,
        template,
        {
            "version": request.app.version,
            "static": STATIC_PATH,
            "page": page,
            "channels": [(c.value, label) for c, label in CHANNEL_LABELS.items()],
        },
    )
    response.headers["Cache-Control"] = "no-cache"
    return response


@router.get("/", response_class=HTMLResponse)
async def console(request: Request) -> HTMLResponse:
    """The console page (no data in it; the browser fetches everything with its key)."""
    return _page(request, "console.html", "console")


@router.get("/insights", response_class=HTMLResponse)
async def insights(request: Request) -> HTMLResponse:
    """The insights page: journey metrics charts, top paths, the customers behind a figure."""
    return _page(request, "insights.html", "insights")


def install_console(app: FastAPI) -> None:
    """Serve the pages at `/` and `/insights` and their assets under `/static`."""
    app.include_router(router)
    app.mount(STATIC_PATH, StaticFiles(directory=WEB_DIR / "static"), name="static")
