"""Interactive API documentation that works offline: Swagger UI at `/docs`, ReDoc at `/redoc`.

FastAPI's own pages load Swagger UI and ReDoc from a CDN and start them with an inline
script, so they are blank without the internet and need a CSP that allows both. Here the
bundles come from the `fastapi-offline` wheel (served from the package, never a CDN) and
the pages start them with a script file, so the pages run under `DOCS_CSP`: scripts from
this origin only. Used by the API and by the ingest gateway (Starlette only, no FastAPI).
"""

from __future__ import annotations

import html
import importlib.util
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Final

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

ASSETS: Final = "/docs-assets"
#: Scripts only from this origin (no inline script); ReDoc injects its styles and runs its
#: search in a worker, hence `'unsafe-inline'` for styles and `blob:` workers.
DOCS_CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; font-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
DOCS_PATHS: Final = frozenset({"/docs", "/redoc"})

_SWAGGER_INIT: Final = """
window.ui = SwaggerUIBundle({
  url: document.body.dataset.openapi,
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
});
"""
_REDOC_INIT: Final = """
Redoc.init(document.body.dataset.openapi, {}, document.getElementById("redoc"));
"""
_PAGE: Final = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="{assets}/lib/favicon.png">
{head}
</head>
<body data-openapi="{openapi}">
{body}
</body>
</html>
"""


def bundle_dir() -> Path:
    """Where the `fastapi-offline` wheel keeps Swagger UI and ReDoc (found without importing
    it: the package itself would import FastAPI)."""
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("fastapi-offline is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def install_offline_docs(app: Starlette, title: str, openapi_url: str = "/openapi.json") -> None:
    """Serve `/docs` (Swagger UI) and `/redoc` (ReDoc) for `openapi_url`, all from here."""
    name, spec = html.escape(title), html.escape(openapi_url)

    def page(head: str, body: str, suffix: str) -> HTMLResponse:
        text = _PAGE.format(
            title=f"{name} - {suffix}", assets=ASSETS, openapi=spec, head=head, body=body
        )
        return HTMLResponse(text, headers={"Content-Security-Policy": DOCS_CSP})

    async def swagger(_request: Request) -> Response:
        return page(
            f'<link rel="stylesheet" href="{ASSETS}/lib/swagger-ui.css">',
            f'<div id="swagger-ui"></div>\n<script src="{ASSETS}/lib/swagger-ui-bundle.js">'
            f'</script>\n<script src="{ASSETS}/swagger-init.js"></script>',
            "Swagger UI",
        )

    async def redoc(_request: Request) -> Response:
        return page(
            "",
            f'<div id="redoc"></div>\n<script src="{ASSETS}/lib/redoc.standalone.js"></script>'
            f'\n<script src="{ASSETS}/redoc-init.js"></script>',
            "ReDoc",
        )

    def script(source: str) -> Callable[[Request], Awaitable[Response]]:
        async def serve(_request: Request) -> Response:
            return Response(source, media_type="text/javascript")

        return serve

    app.add_route("/docs", swagger, include_in_schema=False)
    app.add_route("/redoc", redoc, include_in_schema=False)
    app.add_route(f"{ASSETS}/swagger-init.js", script(_SWAGGER_INIT), include_in_schema=False)
    app.add_route(f"{ASSETS}/redoc-init.js", script(_REDOC_INIT), include_in_schema=False)
    app.mount(f"{ASSETS}/lib", StaticFiles(directory=bundle_dir()), name="docs-assets")
