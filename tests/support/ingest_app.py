"""The ingest gateway in-process for route tests, and the golden samples beside the tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson

from ingest.app import create_app
from ingest.settings import IngestSettings

#: `make(**settings)` opens an in-process client on a gateway built with those settings.
Factory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]
UNIT_INGEST = Path(__file__).resolve().parent.parent / "unit" / "ingest"


def gateway_factory(publisher: Any, **defaults: Any) -> Factory:
    """Clients on gateways publishing to `publisher`, settings `defaults` then overrides."""

    @asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        settings = IngestSettings(**{**defaults, **overrides})
        app = create_app(settings, publisher)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            yield client

    return make


def json_sample(path: str) -> Any:
    """A golden JSON payload, by its path under tests/unit/ingest."""
    return orjson.loads((UNIT_INGEST / path).read_bytes())
