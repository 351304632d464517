"""API security against real PostgreSQL: roles on every route, headers, body cap, rate limit,
and the admin dead-letter routes with their depth gauge."""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.settings import ApiSettings, hash_key
from profile_store.deadletters import record_dead_letters
from schemas.deadletter import Component, DeadLetter, Failure, FailureType
from services.embedded import free_port
from tests.support.events import T0, event
from tests.support.routes import walk

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

AGENT, ADMIN, OTHER = "sec-agent-key", "sec-admin-key", "sec-other-agent-key"
#: Routes only role admin may call; every other /v1 route is for agents (and admins).
ADMIN_ONLY = {
    ("GET", "/v1/customers/{customer_id}/export"),
    ("DELETE", "/v1/customers/{customer_id}"),
    ("GET", "/v1/admin/deadletters"),
    ("GET", "/v1/admin/deadletters/{letter_id}"),
    ("GET", "/v1/audit"),
    ("POST", "/v1/customers/{customer_id}/unmerge"),
    ("POST", "/v1/customers/{customer_id}/merge"),
}


def make_app(engine: AsyncEngine, url: str, **overrides: Any) -> FastAPI:
    settings = ApiSettings(
        database_url=url,
        kafka_bootstrap=f"127.0.0.1:{free_port()}",
        erasure_salt="security-test-erasure-salt",
        api_keys=[
            {"name": "desk", "role": "agent", "sha256": hash_key(AGENT)},
            {"name": "desk2", "role": "agent", "sha256": hash_key(OTHER)},
            {"name": "ops", "role": "admin", "sha256": hash_key(ADMIN)},
        ],
        **overrides,
    )
    return create_app(settings, engine=engine)


@pytest.fixture
async def client(clean_db: str, engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    app = make_app(engine, clean_db)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test") as c,
    ):
        c.app = app  # type: ignore[attr-defined]
        yield c


def v1_routes(app: FastAPI) -> list[tuple[str, str]]:
    found = {
        (method, route.path)
        for route in walk(app.routes)
        if str(getattr(route, "path", "")).startswith("/v1")
        for method in route.methods or ()
        if method != "HEAD"
    }
    # Every documented route is found by walking app.routes (and nothing is hidden from docs).
    documented = {
        (method.upper(), path)
        for path, ops in app.openapi()["paths"].items()
        if path.startswith("/v1")
        for method in ops
    }
    assert found == documented
    return sorted(found)


def concrete(path: str) -> str:
    return re.sub(
        r"\{(\w+)\}",
        lambda m: "1" if m.group(1).endswith("_id") and "letter" in m.group(1) else "cus_x",
        path,
    )


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_every_v1_route_refuses_no_key_bad_key_and_the_wrong_role(
    client: httpx.AsyncClient,
) -> None:
    routes = v1_routes(client.app)  # type: ignore[attr-defined]
    assert set(routes) >= ADMIN_ONLY and len(routes) >= 8
    for method, path in routes:
        url = concrete(path)
        # Routes refuse query parameters they do not take: send each only its own.
        params = (
            {"type": "email", "value": "a@b.io"}
            if path.endswith("/lookup")
            else {"q": "a"}
            if path.endswith("/search")
            else {}
        )
        for headers in ({}, bearer("not-a-key"), {"Authorization": "Basic eDp5"}):
            r = await client.request(method, url, headers=headers, params=params)
            assert r.status_code == 401, (method, path, r.status_code)
            assert r.json()["error"]["code"] == "unauthorized"
        if path == "/v1/me/stream":
            continue  # accepted, it never ends: agents' and admins' pops are tested with a
            # real server in tests/integration/test_screen_pops.py
        agent = await client.request(method, url, headers=bearer(AGENT), params=params)
        admin = await client.request(method, url, headers=bearer(ADMIN), params=params)
        assert admin.status_code not in (401, 403), (method, path)
        if (method, path) in ADMIN_ONLY:
            assert agent.status_code == 403 and agent.json()["error"]["code"] == "forbidden"
        else:
            assert agent.status_code not in (401, 403), (method, path)


async def test_security_headers_and_csp_on_every_kind_of_response(
    client: httpx.AsyncClient,
) -> None:
    responses = [
        await client.get("/healthz"),
        await client.get("/metrics"),
        await client.get("/openapi.json"),
        await client.get("/v1/customers/cus_x"),  # 401
        await client.get("/v1/customers/cus_x", headers=bearer(AGENT)),  # 404
        await client.get("/no/such/route"),
    ]
    for r in responses:
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["x-frame-options"] == "DENY"


async def test_request_bodies_over_the_cap_are_413_json(client: httpx.AsyncClient) -> None:
    big = b"x" * (64 * 1024 + 1)
    r = await client.request("DELETE", "/v1/customers/cus_x", headers=bearer(ADMIN), content=big)
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    ok = await client.request("DELETE", "/v1/customers/cus_x", headers=bearer(ADMIN), content=b"{}")
    assert ok.status_code == 404


async def test_rate_limit_per_key_answers_429_with_retry_after(
    clean_db: str, engine: AsyncEngine
) -> None:
    app = make_app(engine, clean_db, rate_limit_per_s=0.5, rate_limit_burst=3)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test") as c,
    ):
        codes = [
            (await c.get("/v1/customers/cus_x", headers=bearer(AGENT))).status_code
            for _ in range(4)
        ]
        assert codes == [404, 404, 404, 429]
        limited = await c.get("/v1/customers/cus_x", headers=bearer(AGENT))
        assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(limited.headers["retry-after"]) <= 2
        # Another key has its own bucket; unauthenticated calls never reach the limiter.
        assert (await c.get("/v1/customers/cus_x", headers=bearer(OTHER))).status_code == 404
        assert (await c.get("/v1/customers/cus_x")).status_code == 401


async def test_admin_dead_letter_routes_and_depth_gauge(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    good = event("sec-1", ("email", "x@shop.io"))
    await record_dead_letters(
        engine,
        [
            DeadLetter.of(
                Component.WORKER_WRITE,
                Failure(type=FailureType.DATABASE_REFUSED, message="DataError: x"),
                good.to_json(),
                T0,
                event_id="sec-1",
            ),
            DeadLetter.of(
                Component.WORKER_DECODE,
                Failure(type=FailureType.INVALID_EVENT, message="not JSON"),
                b"\xff",
                T0,
                key=b"k",
            ),
            DeadLetter.of(
                Component.WORKER_DECODE,
                Failure(type=FailureType.INVALID_EVENT, message="not JSON"),
                b"\xfe",
                T0,
            ),
        ],
    )
    admin = bearer(ADMIN)
    listed = (await client.get("/v1/admin/deadletters", headers=admin)).json()
    assert [d["component"] for d in listed] == ["worker.decode", "worker.decode", "worker.write"]
    assert "original_b64" not in listed[0] and listed[0]["size"] == 1
    only = await client.get(
        "/v1/admin/deadletters", headers=admin, params={"component": "worker.write"}
    )
    assert [d["event_id"] for d in only.json()] == ["sec-1"]
    detail = (await client.get(f"/v1/admin/deadletters/{listed[2]['id']}", headers=admin)).json()
    assert base64.b64decode(detail["original_b64"]) == good.to_json()
    missing = await client.get("/v1/admin/deadletters/999999", headers=admin)
    assert missing.status_code == 404
    bad = await client.get("/v1/admin/deadletters", headers=admin, params={"limit": 0})
    assert bad.status_code == 422
    metrics = (await client.get("/metrics")).text
    assert 'threadline_dead_letters_pending{component="worker.decode"} 2.0' in metrics
    assert 'threadline_dead_letters_pending{component="worker.write"} 1.0' in metrics
