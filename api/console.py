"""The agent console at `GET /`: one server-rendered page plus local static assets.

The page holds no customer data: the browser signs in with an API key (kept in
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


@router.get("/", response_class=HTMLResponse)
async def console(request: Request) -> HTMLResponse:
    """The console page (no data in it; the browser fetches everything with its key)."""
    response = templates.TemplateResponse(
        request,
        "console.html",
        {
            "version": request.app.version,
            "static": STATIC_PATH,
            "channels": [(c.value, label) for c, label in CHANNEL_LABELS.items()],
        },
    )
    response.headers["Cache-Control"] = "no-cache"
    return response


def install_console(app: FastAPI) -> None:
    """Serve the page at `/` and its assets under `/static`."""
    app.include_router(router)
    app.mount(STATIC_PATH, StaticFiles(directory=WEB_DIR / "static"), name="static")
