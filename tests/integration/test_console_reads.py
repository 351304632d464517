"""What the console reads, against real PostgreSQL with data from the real TimelineWriter:
phones as agents read them, a local number or a customer id in the search box, the last
assisted contact, web visits, lineage with its events and names, and a revised source record
reaching the live stream as an update of its item."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.routes.stream import LiveFeed
from profile_store.read import live, summary
from profile_store.write.writer import TimelineWriter
from schemas import CanonicalEvent
from tests.integration import test_agent_view as view
from tests.support.api import error_message
from tests.support.events import event
from tests.support.journey import MARIA_PHONE_NATIONAL

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

# The agent view's fixtures: Maria's journey and two more customers through the real writer,
# an app on that database and a client with the agent's key.
now, app, client = view.now, view.app, view.client
_maria = view._maria


async def _get(client: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_phones_read_nationally_and_a_local_number_finds_its_one_customer(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    maria = await _maria(client)
    phones = [i for i in maria["identifiers"] if i["type"] == "phone"]
    assert phones == [
        {**phones[0], "value": "+14155550132", "display": MARIA_PHONE_NATIONAL},
    ]
    hits = (await _get(client, "/v1/search", q="555-0132"))["items"]
    assert [h["customer_id"] for h in hits] == [maria["customer_id"]]
    assert hits[0]["match"] == {
        "field": "phone",
        "how": "local_number",
        "value": "+14155550132",
        "display": MARIA_PHONE_NATIONAL,
    }
    assert hits[0]["last_seen"]
    # Two customers with the same local number in other area codes: both, for the agent to
    # choose; none for a number nobody has.
    await TimelineWriter(engine).write(
        [
            event("other-415", ("phone", "+12125550132"), ("email", "ny@shop.io")),
            event("other-44", ("phone", "+442075550132"), ("email", "uk@shop.io")),
        ]
    )
    hits = (await _get(client, "/v1/search", q="555 0132"))["items"]
    assert len(hits) == 2 and {h["match"]["display"] for h in hits} == {
        MARIA_PHONE_NATIONAL,
        "(212) 555-0132",
    }
    assert (await _get(client, "/v1/search", q="555-0199"))["items"] == []


async def test_a_customer_id_typed_in_search_finds_that_customer(
    client: httpx.AsyncClient,
) -> None:
    maria = await _maria(client)
    hits = (await _get(client, "/v1/search", q=maria["customer_id"]))["items"]
    assert [h["customer_id"] for h in hits] == [maria["customer_id"]]
    assert hits[0]["match"]["field"] == "customer_id" and hits[0]["match"]["how"] == "exact"
    assert (await _get(client, "/v1/search", q="cus_nobody"))["items"] == []


async def test_last_contact_is_the_last_assisted_contact_whatever_the_browsing(
    client: httpx.AsyncClient, engine: AsyncEngine, now: datetime
) -> None:
    maria = await _maria(client)
    assert maria["summary"]["last_contact"]["kind"] == "survey_response"
    browsing = [
        event(f"late-web-{i}", ("anonymous_id", "d-maria-1"), channel="web") for i in range(5)
    ]
    await TimelineWriter(engine).write(
        [
            e.model_copy(update={"occurred_at": now + timedelta(minutes=i)})
            for i, e in enumerate(browsing)
        ]
    )
    again = await _maria(client)
    assert again["last_seen"] > maria["last_seen"]
    assert again["summary"]["last_contact"]["kind"] == "survey_response"
    async with engine.begin() as conn:
        await conn.execute(text("SET LOCAL enable_seqscan = off"))
        sql = (
            "EXPLAIN SELECT event_id FROM timeline_events WHERE customer_id = :c AND "
            f"{summary.CONTACTS_SQL} ORDER BY occurred_at DESC, id DESC LIMIT 1"
        )
        plan = "\n".join(r[0] for r in await conn.execute(text(sql), {"c": "cus_x"}))
        assert "ix_timeline_contacts" in plan and "Sort" not in plan, plan
        reversed_sql = (
            "EXPLAIN SELECT customer_id FROM identifiers WHERE id_type = 'phone' "
            "AND reverse(id_value) ~>=~ '2310555' AND reverse(id_value) ~<~ '2310556'"
        )
        plan = "\n".join(r[0] for r in await conn.execute(text(reversed_sql)))
        assert "ix_identifiers_phone_reversed" in plan, plan


async def test_web_activity_comes_grouped_into_visits(
    client: httpx.AsyncClient, now: datetime
) -> None:
    maria = await _maria(client)
    page = await _get(client, f"/v1/customers/{maria['customer_id']}/visits", limit=3)
    # The login three days ago, then page views six hours apart: one visit each.
    assert [v["events"] for v in page["items"]] == [1, 1, 1]
    assert page["items"][0]["listed"][0]["summary"] == "Logged in"
    assert page["next_until"] == page["items"][-1]["started_at"]
    older = await _get(
        client, f"/v1/customers/{maria['customer_id']}/visits", until=page["next_until"], limit=50
    )
    assert len(older["items"]) == 50 and older["items"][0]["ended_at"] < page["next_until"]
    missing = await client.get("/v1/customers/cus_nobody/visits")
    error_message(missing, 404, "not_found")
    naive = await client.get(
        f"/v1/customers/{maria['customer_id']}/visits", params={"until": "2026-01-01T00:00:00"}
    )
    assert naive.status_code == 422


async def test_lineage_names_the_merged_profiles_and_shows_the_events(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    writer = TimelineWriter(engine)
    named = {"traits": {"name": "Ann Lee"}}
    await writer.write([event("a", ("email", "ann@shop.io"), minutes=0, attributes=named)])
    nickname = {"traits": {"name": "Annie"}}
    await writer.write([event("b", ("phone", "+14155550100"), minutes=1, attributes=nickname)])
    await writer.write(
        [event("ab", ("email", "ann@shop.io"), ("phone", "+14155550100"), minutes=3)]
    )
    profile = await _get(client, "/v1/customers/lookup", type="phone", value="+14155550100")
    lineage = await _get(client, f"/v1/customers/{profile['customer_id']}/links")
    assert [m["merged_name"] for m in lineage["merges"]] == ["Annie"]
    assert {link["trust"] for link in lineage["links"]} == {"server"}
    assert set(lineage["events"]) == {"a", "b", "ab"}
    assert lineage["events"]["ab"]["summary"] == "page_viewed ab"
    # Ann's customer (the older) survives and takes the later name; the merged one keeps its.
    assert lineage["merges"][0]["merged_id"] != profile["customer_id"]
    assert profile["traits"]["name"] == "Annie"


async def test_a_revised_source_record_streams_as_an_update_of_its_item(
    engine: AsyncEngine, client: httpx.AsyncClient, now: datetime
) -> None:
    maria = await _maria(client)
    writer = TimelineWriter(engine)

    def contact(revision: str, disposition: str) -> CanonicalEvent:
        attrs = {"revision": revision, "disconnect_reason": disposition, "queue": "Orders"}
        return event(
            "connect:live-1",
            ("phone", "+14155550132"),
            channel="call_centre",
            kind="call_completed",
            attributes=attrs,
        ).model_copy(update={"occurred_at": now - timedelta(minutes=1)})

    await writer.write([contact("2026-12-01T10:00:00.000000Z", "CUSTOMER_DISCONNECT")])
    async with engine.connect() as conn:
        feed = LiveFeed(maria["customer_id"], await live.high_water(conn))
    await writer.write([contact("2026-12-01T10:05:00.000000Z", "AGENT_DISCONNECT")])
    async with engine.connect() as conn:
        sent = [e for e in await feed.poll(conn) if e.event == "timeline"]
    assert len(sent) == 1 and "AGENT_DISCONNECT" in str(sent[0].data)
    page = await _get(client, f"/v1/customers/{maria['customer_id']}/timeline", limit=5)
    revised = [i for i in page["items"] if i["event_id"] == "connect:live-1"]
    assert [i["attributes"]["disconnect_reason"] for i in revised] == ["AGENT_DISCONNECT"]
