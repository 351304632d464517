"""`GET /v1/customers/{id}/links`: stitching explained from what the writer recorded."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from profile_store.write.writer import TimelineWriter
from tests.support.api import AGENT, api_client, api_settings
from tests.support.events import event

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture
async def client(clean_db: str, engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(create_app(api_settings(clean_db), engine=engine), AGENT) as c:
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
