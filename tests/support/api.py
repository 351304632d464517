"""Shared helpers for API tests: settings with test keys, in-process clients, a real server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from api.settings import ApiSettings, hash_key
from services.embedded import free_port
from tests.support.server import serving

AGENT, ADMIN = "agent-key-for-tests", "admin-key-for-tests"


def api_settings(url: str, **overrides: Any) -> ApiSettings:
    """Settings for `url` with an agent key (`desk`) and an admin key (`ops`)."""
    values: dict[str, Any] = {
        "database_url": url,
        "kafka_bootstrap": f"127.0.0.1:{free_port()}",
        "readiness_timeout": 0.5,
        "erasure_salt": "api-test-erasure-salt",
        "api_keys": [
            {"name": "desk", "role": "agent", "sha256": hash_key(AGENT)},
            {"name": "ops", "role": "admin", "sha256": hash_key(ADMIN)},
        ],
        **overrides,
    }
    return ApiSettings(**values)


@asynccontextmanager
async def api_client(app: FastAPI, key: str | None = AGENT) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client for `app`, sending `key` as a bearer token, inside the app's
    lifespan (which opens the read pool; an injected engine stays the caller's)."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://api.test", headers=headers) as c,
    ):
        yield c


def error_message(response: httpx.Response, status: int, code: str) -> str:
    """Assert `response` is the contract's JSON error with `status` and `code`; its message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body["error"]) == {"code", "message"} and body["error"]["code"] == code
    return str(body["error"]["message"])


@contextmanager
def running_api(app: FastAPI) -> Iterator[str]:
    """`app` served by uvicorn on a free loopback port in a thread; yields its base URL.

    The app must own its engine (created by the lifespan), since it runs on the server's loop.
    """
    with serving(app, free_port(), "api") as url:
        yield url
