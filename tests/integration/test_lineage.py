"""`GET /v1/customers/{id}/links`: stitching explained from what the writer recorded."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.settings import ApiSettings, hash_key
from profile_store.db import make_async_engine
from profile_store.writer import TimelineWriter
from services.embedded import free_port
from tests.support.events import event

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

KEY = "lineage-agent-key"


@pytest.fixture
async def engine(clean_db: str) -> AsyncIterator[AsyncEngine]:
    eng = make_async_engine(clean_db, pool_size=2)
    yield eng
    await eng.dispose()


@pytest.fixture
async def client(clean_db: str, engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    settings = ApiSettings(
        database_url=clean_db,
        kafka_bootstrap=f"127.0.0.1:{free_port()}",
        api_keys=[{"name": "desk", "role": "agent", "sha256": hash_key(KEY)}],
        erasure_salt="lineage-test-erasure-salt",
    )
    app = create_app(settings, engine=engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://api.test", headers={"Authorization": f"Bearer {KEY}"}
    ) as c:
        yield c


async def test_links_explain_every_identifier_and_every_merge(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    writer = TimelineWriter(engine)
    await writer.write([event("a", ("email", "ann@shop.io"), ("order_id", "W-1"), minutes=0)])
    await writer.write([event("b", ("phone", "+14155550100"), minutes=1)])
    await writer.write([event("c", ("user_id", "u-9"), minutes=2)])
    await writer.write(
        [event("ab", ("email", "ann@shop.io"), ("phone", "+14155550100"), minutes=3)]
    )
    await writer.write([event("bc", ("phone", "+14155550100"), ("user_id", "u-9"), minutes=4)])
    profile = (
        await client.get("/v1/customers/lookup", params={"type": "user_id", "value": "u-9"})
    ).json()
    merged = profile["merged_ids"]
    assert len(merged) == 2
    resp = await client.get(f"/v1/customers/{merged[0]}/links")
    assert resp.status_code == 200
    lineage = resp.json()
    assert lineage["customer_id"] == profile["customer_id"]
    links = {
        (link["type"], link["value"]): (link["rule"], link["event_id"]) for link in lineage["links"]
    }
    assert links == {
        ("email", "ann@shop.io"): ("seen_together", "a"),
        ("order_id", "W-1"): ("reference", "a"),
        ("phone", "+14155550100"): ("seen_together", "b"),
        ("user_id", "u-9"): ("seen_together", "c"),
    }
    causes = [(m["event_id"], m["rule"], m["survivor_id"]) for m in lineage["merges"]]
    assert causes == [
        ("ab", "seen_together", profile["customer_id"]),
        ("bc", "seen_together", profile["customer_id"]),
    ]
    assert {m["merged_id"] for m in lineage["merges"]} == set(merged)
    assert {"type": "phone", "value": "+14155550100"} in lineage["merges"][0]["identifiers"]


async def test_unknown_customer_is_a_json_404(client: httpx.AsyncClient) -> None:
    resp = await client.get("/v1/customers/cus_nobody/links")
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "not_found"
