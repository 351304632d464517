"""Admin unmerge and manual merge through the API, against real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from profile_store.write.writer import TimelineWriter
from tests.support.api import ADMIN, AGENT, api_client, api_settings
from tests.support.events import event

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

HOME = ("email", "home@family.io")


@pytest.fixture
async def client(clean_db: str, engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(create_app(api_settings(clean_db), engine=engine), ADMIN) as c:
        yield c


async def profile_of(client: httpx.AsyncClient, t: str, v: str) -> dict[str, object]:
    resp = await client.get("/v1/customers/lookup", params={"type": t, "value": v})
    assert resp.status_code == 200, resp.text
    body: dict[str, object] = resp.json()
    return body


async def timeline_ids(client: httpx.AsyncClient, cid: str) -> set[str]:
    resp = await client.get(f"/v1/customers/{cid}/timeline", params={"limit": 100})
    assert resp.status_code == 200, resp.text
    return {item["event_id"] for item in resp.json()["items"]}


async def household_merge(engine: AsyncEngine) -> None:
    """Ann and Bob share a household address: it merges them, wrongly."""
    writer = TimelineWriter(engine)
    ann = {"traits": {"name": "Ann Lee", "city": "Lyon"}}
    bob = {"traits": {"name": "Bob Lee"}}
    await writer.write([event("ann-1", ("email", "ann@shop.io"), HOME, attributes=ann)])
    await writer.write(
        [event("bob-1", ("email", "bob@shop.io"), minutes=1, channel="email", attributes=bob)]
    )
    await writer.write([event("bob-2", ("email", "bob@shop.io"), minutes=2, channel="chat")])
    await writer.write([event("bob-call", HOME, ("email", "bob@shop.io"), minutes=3)])


async def test_unmerge_restores_both_customers_with_all_their_events(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    await household_merge(engine)
    ann = await profile_of(client, "email", "ann@shop.io")
    (bob_id,) = ann["merged_ids"]  # type: ignore[misc]
    ann_id = str(ann["customer_id"])
    assert await timeline_ids(client, ann_id) == {"ann-1", "bob-1", "bob-2", "bob-call"}

    resp = await client.post(f"/v1/customers/{ann_id}/unmerge", json={"merged_id": bob_id})
    assert resp.status_code == 200, resp.text
    assert resp.json()["customer_id"] == ann_id and resp.json()["other_id"] == bob_id

    assert await timeline_ids(client, ann_id) == {"ann-1"}
    assert await timeline_ids(client, bob_id) == {"bob-1", "bob-2", "bob-call"}
    bob = await profile_of(client, "email", "bob@shop.io")
    assert bob["customer_id"] == bob_id and bob["merged_ids"] == []
    assert (await profile_of(client, *HOME))["customer_id"] == ann_id
    # Aggregates are rebuilt from the timelines on both sides.
    counts = {c: v["count"] for c, v in bob["channels"].items()}  # type: ignore[attr-defined]
    assert counts == {"email": 1, "chat": 1, "web": 1}
    ann = await profile_of(client, "email", "ann@shop.io")
    assert {c: v["count"] for c, v in ann["channels"].items()} == {"web": 1}  # type: ignore[attr-defined]
    assert (ann["first_seen"], ann["last_seen"]) == ("2026-03-01T09:00:00Z",) * 2
    assert (ann["traits"], bob["traits"]) == (
        {"name": "Ann Lee", "city": "Lyon"},
        {"name": "Bob Lee"},
    )

    # The separation holds for later events: the shared address with Bob's again.
    writer = TimelineWriter(engine)
    await writer.write([event("bob-call-2", HOME, ("email", "bob@shop.io"), minutes=9)])
    assert await timeline_ids(client, bob_id) == {"bob-1", "bob-2", "bob-call", "bob-call-2"}
    assert await timeline_ids(client, ann_id) == {"ann-1"}
    async with engine.connect() as conn:
        audit = (
            await conn.execute(
                sa.text(
                    "SELECT actor, action, customer_id FROM audit_log "
                    "WHERE action IN ('unmerge', 'manual_merge')"
                )
            )
        ).all()
    assert audit == [("ops", "unmerge", ann_id)]


async def test_manual_merge_joins_two_customers_and_later_events_follow(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    writer = TimelineWriter(engine)
    await writer.write([event("w", ("email", "cara@work.io"), minutes=0)])
    await writer.write([event("h", ("email", "cara@home.io"), minutes=1)])
    work = str((await profile_of(client, "email", "cara@work.io"))["customer_id"])
    home = str((await profile_of(client, "email", "cara@home.io"))["customer_id"])
    resp = await client.post(f"/v1/customers/{home}/merge", json={"other_id": work})
    assert resp.status_code == 200, resp.text
    assert resp.json()["customer_id"] == work  # the older id survives
    assert await timeline_ids(client, home) == {"w", "h"}
    await writer.write([event("h2", ("email", "cara@home.io"), minutes=5)])
    assert await timeline_ids(client, work) == {"w", "h", "h2"}
    again = await client.post(f"/v1/customers/{home}/merge", json={"other_id": work})
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"


async def test_identity_changes_need_an_admin_key_and_name_the_problem(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    await household_merge(engine)
    ann_id = str((await profile_of(client, "email", "ann@shop.io"))["customer_id"])
    as_agent = {"Authorization": f"Bearer {AGENT}"}
    denied = await client.post(
        f"/v1/customers/{ann_id}/unmerge", json={"merged_id": "x"}, headers=as_agent
    )
    assert denied.status_code == 403
    unknown = await client.post("/v1/customers/cus_nobody/unmerge", json={"merged_id": ann_id})
    assert unknown.status_code == 404
    not_merged = await client.post(f"/v1/customers/{ann_id}/unmerge", json={"merged_id": ann_id})
    assert not_merged.status_code == 409
    bad = await client.post(f"/v1/customers/{ann_id}/unmerge", json={"merged": ann_id})
    assert bad.status_code == 422


async def test_links_explain_refused_identifiers(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    writer = TimelineWriter(engine)
    await writer.write([event("a", ("user_id", "u1"), ("phone", "+14155550100"))])
    await writer.write([event("b", ("user_id", "u2"), ("phone", "+14155550100"), minutes=1)])
    second = str((await profile_of(client, "user_id", "u2"))["customer_id"])
    lineage = (await client.get(f"/v1/customers/{second}/links")).json()
    assert lineage["conflicts"] == [
        {"type": "phone", "value": "+14155550100", "event_id": "b", "reason": "limit:user_id"}
    ]
