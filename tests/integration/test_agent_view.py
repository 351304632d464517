"""The agent's view against real PostgreSQL, with data written by the real TimelineWriter:
search, the profile summary, the audit trail, the live stream and the console page."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from api.app import create_app
from api.routes.stream import LiveFeed
from profile_store.read import live, search, summary
from profile_store.read import profile as profile_read
from profile_store.storage.tables import customers
from profile_store.write.writer import TimelineWriter
from tests.support.api import ADMIN, AGENT, api_client, api_settings, error_message, running_api
from tests.support.journey import (
    ANSWERED_EMAIL_SUBJECT,
    MARIA_PHONE,
    MARIA_PHONE_NATIONAL,
    OPEN_CHAT_TEXT,
    OPEN_EMAIL_SUBJECT,
    chat_message,
    maria_journey,
    other_customers,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture
async def now(engine: AsyncEngine) -> datetime:
    """Write the journeys through the real writer; the time they are relative to."""
    now = datetime.now(UTC).replace(microsecond=0)
    writer = TimelineWriter(engine)
    await writer.write(maria_journey(now))
    await writer.write(other_customers(now))
    return now


@pytest.fixture
async def app(clean_db: str, engine: AsyncEngine) -> FastAPI:
    return create_app(api_settings(clean_db), engine=engine)


@pytest.fixture
async def client(app: FastAPI, now: datetime) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(app) as c:
        yield c


async def _maria(client: httpx.AsyncClient) -> dict[str, Any]:
    params = {"type": "phone", "value": MARIA_PHONE_NATIONAL}
    response = await client.get("/v1/customers/lookup", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _search(client: httpx.AsyncClient, q: str, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/v1/search", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


# --- search --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "field", "how"),
    [
        ("(415) 555-0132", "phone", "exact"),
        ("415.555.0132", "phone", "exact"),
        ("+1 415 555 0132", "phone", "exact"),
        ("  MARIA@Shop.IO ", "email", "exact"),
        ("W-5001", "order_id", "exact"),
        # Order numbers are normalised as typed: w-5001 is W-5001, #W-5001 too.
        ("w-5001", "order_id", "exact"),
        ("#W-5001", "order_id", "exact"),
        ("U-42", "user_id", "exact_case_insensitive"),
        ("u-42", "user_id", "exact"),
        ("Maria Lo", "name", "prefix"),
        ("lopez", "name", "prefix"),
        ("maria@sh", "email", "prefix"),
    ],
)
async def test_search_finds_maria_by_anything_an_agent_types(
    client: httpx.AsyncClient, q: str, field: str, how: str
) -> None:
    maria = await _maria(client)
    hits = await _search(client, q)
    assert hits[0]["customer_id"] == maria["customer_id"]
    match = hits[0]["match"]
    assert (match["field"], match["how"]) == (field, how)
    assert (match["value"] is None) == (field == "name")
    assert hits[0]["name"] == "Maria Lopez"
    phone = {"type": "phone", "value": MARIA_PHONE, "display": MARIA_PHONE_NATIONAL}
    assert phone in hits[0]["identifiers"]


async def test_name_prefix_ranks_recent_customers_first_and_limits(
    client: httpx.AsyncClient,
) -> None:
    hits = await _search(client, "mar")
    # Maria (seen minutes ago), Marianne (a day ago), Mario (ten days ago).
    assert [h["name"] for h in hits] == ["Maria Lopez", "Marianne Dupont", "Mario Rossi"]
    assert [h["name"] for h in await _search(client, "mar", limit=2)] == [
        "Maria Lopez",
        "Marianne Dupont",
    ]
    assert [h["name"] for h in await _search(client, "dupont marianne")] == ["Marianne Dupont"]


async def test_exact_identifier_outranks_names(client: httpx.AsyncClient) -> None:
    hits = await _search(client, "L-7781")
    assert [(h["name"], h["match"]["how"]) for h in hits] == [("Marianne Dupont", "exact")]


async def test_merged_away_customers_resolve_to_their_survivor(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    maria = await _maria(client)
    async with engine.begin() as conn:
        await conn.execute(
            insert(customers).values(
                customer_id="cus_absorbed",
                merged_into=maria["customer_id"],
                traits={"name": {"value": "Zoe Absorbed", "at": "2026-01-01", "source": "x"}},
            )
        )
    hits = await _search(client, "zoe")
    assert [h["customer_id"] for h in hits] == [maria["customer_id"]]
    # A chain older data left behind (merged_into normally names the survivor) still ends there.
    async with engine.begin() as conn:
        await conn.execute(
            insert(customers).values(
                customer_id="cus_absorbed_earlier",
                merged_into="cus_absorbed",
                traits={"name": {"value": "Yann Earlier", "at": "2026-01-01", "source": "x"}},
            )
        )
    for query in ("yann", "zoe"):
        hits = await _search(client, query)
        assert [h["customer_id"] for h in hits] == [maria["customer_id"]], query
        assert hits[0]["name"] == "Maria Lopez" and hits[0]["identifiers"]


async def test_search_without_matches_and_bad_queries(client: httpx.AsyncClient) -> None:
    assert await _search(client, "nobody-like-this") == []
    assert await _search(client, "(212) 555-0199") == []
    blank = await client.get("/v1/search", params={"q": "  \t "})
    assert "query.q" in error_message(blank, 422, "validation_error")
    too_long = await client.get("/v1/search", params={"q": "x" * 300})
    assert "query.q" in error_message(too_long, 422, "validation_error")
    error_message(await client.get("/v1/search"), 422, "validation_error")
    error_message(
        await client.get("/v1/search", params={"q": "a", "limit": 0}), 422, "validation_error"
    )


async def _plan_of(engine: AsyncEngine, sql: str, params: dict[str, Any]) -> str:
    async with engine.begin() as conn:
        await conn.execute(text("SET LOCAL enable_seqscan = off"))
        rows = await conn.execute(text(f"EXPLAIN {sql}"), params)
        return "\n".join(r[0] for r in rows)


async def test_search_and_summary_queries_use_their_indexes(
    engine: AsyncEngine, now: datetime
) -> None:
    """120 rows are too few for the planner to prefer indexes on its own, so sequential scans
    are switched off: the expressions must match the migration's indexes exactly."""
    name_sql = (
        f"SELECT customer_id FROM customers WHERE {search.NAME_DOCUMENT} "
        "@@ to_tsquery('simple'::regconfig, :q)"
    )
    assert "ix_customers_name_search" in await _plan_of(engine, name_sql, {"q": "mar:*"})
    ident_sql = "SELECT customer_id FROM identifiers WHERE lower(id_value) = :v"
    assert "ix_identifiers_value_lower" in await _plan_of(engine, ident_sql, {"v": "w-5001"})
    for predicate, index in [
        (summary.CONVERSATIONS_SQL, "ix_timeline_conversations"),
        (summary.ORDERS_SQL, "ix_timeline_orders"),
    ]:
        sql = (
            f"SELECT event_id FROM timeline_events WHERE customer_id = :c AND {predicate} "
            "ORDER BY occurred_at DESC, id DESC LIMIT 1"
        )
        plan = await _plan_of(engine, sql, {"c": "cus_x"})
        assert index in plan and "Sort" not in plan, plan
    # The profile route's single statement keeps every part on its index.
    profile_sql = str(profile_read.PROFILE_BY_ID)
    plan = await _plan_of(engine, profile_sql, {"customer_id": "cus_x", "since": now})
    for index in ("ix_timeline_customer_time", "ix_timeline_conversations", "ix_timeline_orders"):
        assert index in plan, plan
    # With few rows the planner may fetch a part through a bitmap and sort it; never a scan.
    assert "Seq Scan" not in plan, plan


async def test_misspelt_or_unprintable_parameters_are_named_errors(
    client: httpx.AsyncClient,
) -> None:
    maria = await _maria(client)
    misspelt = await client.get(
        f"/v1/customers/{maria['customer_id']}/timeline", params={"chanel": "email"}
    )
    assert error_message(misspelt, 422, "validation_error") == (
        "query: unknown parameter; this route takes channel, cursor, kind, limit, since, until"
    )
    for path, params in [
        ("/v1/search", {"q": "maria\x00"}),
        ("/v1/customers/lookup", {"type": "email", "value": "a\x00@b.co"}),
        ("/v1/customers/cus%00x", {}),
    ]:
        response = await client.get(path, params=params)
        assert error_message(response, 422, "validation_error"), path


# --- profile summary -----------------------------------------------------------------------


async def test_profile_summary_says_whats_going_on(
    client: httpx.AsyncClient, now: datetime
) -> None:
    profile = await _maria(client)
    s = profile["summary"]
    assert s["last_contact"]["kind"] == "survey_response"
    open_threads = [(t["channel"], t["summary"]) for t in s["open_threads"]]
    assert open_threads == [
        ("chat", f"Chat (customer): {OPEN_CHAT_TEXT}"),
        ("email", f"Email: {OPEN_EMAIL_SUBJECT}"),
    ]
    assert ANSWERED_EMAIL_SUBJECT not in orjson.dumps(s["open_threads"]).decode()
    order = s["latest_order"]
    assert (order["order"], order["total"], order["currency"]) == ("W-5001", "59.90", "USD")
    assert s["latest_score"]["metric"] == "nps" and s["latest_score"]["score"] == 9
    # The last 7 days: everything but the 60 page views two months ago.
    assert s["recent"] == {
        "days": 7,
        "total": 10,
        "by_channel": {"call_centre": 1, "chat": 3, "email": 3, "store": 1, "survey": 1, "web": 1},
        "capped": False,
    }


async def test_an_agent_reply_closes_the_chat(
    client: httpx.AsyncClient, engine: AsyncEngine, now: datetime
) -> None:
    await TimelineWriter(engine).write(
        [chat_message("chat:conv-2:2", now - timedelta(minutes=1), "conv-2", "Hi!", "agent")]
    )
    threads = (await _maria(client))["summary"]["open_threads"]
    assert [t["channel"] for t in threads] == ["email"]


# --- audit ---------------------------------------------------------------------------------


async def test_every_read_is_audited_without_pii_and_only_admins_read_it(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    maria = await _maria(client)
    cid = maria["customer_id"]
    await client.get(f"/v1/customers/{cid}")
    await client.get(f"/v1/customers/{cid}/timeline", params={"channel": "email"})
    await _search(client, "maria@shop.io")
    await client.get("/v1/customers/lookup", params={"type": "email", "value": "no@one.example"})
    error_message(await client.get("/v1/audit"), 403, "forbidden")
    async with api_client(app, ADMIN) as admin:
        response = await admin.get("/v1/audit", params={"actor": "desk"})
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        assert [(e["action"], e["customer_id"], e["detail"]) for e in items] == [
            ("lookup", None, {"type": "email", "found": False}),
            ("search", cid, {"tried": ["identifier", "email", "email_prefix"], "results": 1}),
            ("timeline_view", cid, {"page": "first", "channel": ["email"]}),
            ("profile_view", cid, {}),
            ("lookup", cid, {"type": "phone", "found": True}),
        ]
        assert all(e["actor"] == "desk" and e["role"] == "agent" for e in items)
        # The phone in any format an agent might have typed; a bare "555" would also match
        # microseconds in the timestamps.
        for pii in ("maria", "4155550132", "555-0132", "555 0132", "no@one"):
            assert pii not in response.text.lower()
        page = (await admin.get("/v1/audit", params={"customer_id": cid, "limit": 2})).json()
        assert [e["action"] for e in page["items"]] == ["search", "timeline_view"]
        older = await admin.get(
            "/v1/audit", params={"customer_id": cid, "before": page["next_before"]}
        )
        assert [e["action"] for e in older.json()["items"]] == ["profile_view", "lookup"]
        assert older.json()["next_before"] is None
        error_message(await admin.get("/v1/audit", params={"before": 0}), 422, "validation_error")


# --- console -------------------------------------------------------------------------------


async def test_console_page_and_assets_are_local(client: httpx.AsyncClient) -> None:
    page = await client.get("/", headers={"Authorization": ""})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert 'label for="q"' in html and 'label for="api-key"' in html
    assert "<script>" not in html and " style=" not in html and " onclick" not in html
    assert "http://" not in html and "https://" not in html  # no CDN
    for asset in ("console.js", "console.css", "icons.svg", "favicon.svg"):
        assert f"/static/{asset}" in html
        response = await client.get(f"/static/{asset}")
        assert response.status_code == 200, asset


# --- live stream ---------------------------------------------------------------------------


async def _maria_id(conn: AsyncConnection) -> str:
    stmt = text("SELECT customer_id FROM identifiers WHERE id_type = 'phone' AND id_value = :v")
    return str((await conn.execute(stmt, {"v": MARIA_PHONE})).scalar_one())


async def _next_event(lines: AsyncIterator[str], wanted: str) -> dict[str, Any]:
    """Read SSE lines until an event named `wanted`; its data (and id) as a dict."""
    name, event_id = None, None
    async for line in lines:
        if line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("id:"):
            event_id = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and name == wanted:
            data = dict(orjson.loads(line.split(":", 1)[1]))
            return {**data, "_id": event_id} if event_id else data
    raise AssertionError(f"stream ended before a {wanted} event")


async def test_stream_sends_new_items_live_follows_merges_and_ends_on_disconnect(
    clean_db: str, engine: AsyncEngine, now: datetime
) -> None:
    app = create_app(api_settings(clean_db, stream_poll_interval=0.1, stream_heartbeat=1))
    headers = {"Authorization": f"Bearer {AGENT}"}
    async with engine.begin() as conn:
        maria_id = await _maria_id(conn)
        await conn.execute(
            insert(customers).values(customer_id="cus_old_maria", merged_into=maria_id)
        )
    with running_api(app) as base:
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=20) as http:
            missing = await http.get("/v1/customers/cus_nobody/stream")
            error_message(missing, 404, "not_found")
            async with http.stream("GET", "/v1/customers/cus_old_maria/stream") as response:
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("text/event-stream")
                lines = response.aiter_lines()
                ready = await asyncio.wait_for(_next_event(lines, "ready"), 20)
                assert ready == {"customer_id": maria_id}
                assert app.state.streams.open == 1
                await TimelineWriter(engine).write(
                    [chat_message("chat:conv-3:1", datetime.now(UTC), "conv-3", "Still here?")]
                )
                item = await asyncio.wait_for(_next_event(lines, "timeline"), 20)
                assert item["event_id"] == "chat:conv-3:1" and item["channel"] == "chat"
                assert int(item["_id"]) > 0
                profile = await asyncio.wait_for(_next_event(lines, "profile"), 20)
                assert profile["customer_id"] == maria_id
                assert profile["summary"]["last_contact"]["event_id"] == "chat:conv-3:1"
            deadline = time.monotonic() + 20
            while app.state.streams.open:
                assert time.monotonic() < deadline, "the stream outlived its client"
                await asyncio.sleep(0.05)
            # Resuming after an id replays what came later.
            resume = {"Last-Event-ID": str(int(item["_id"]) - 1)}
            async with http.stream(
                "GET", f"/v1/customers/{maria_id}/stream", headers=resume
            ) as response:
                again = await asyncio.wait_for(_next_event(response.aiter_lines(), "timeline"), 20)
                assert again["event_id"] == "chat:conv-3:1"


async def test_feed_picks_up_rows_committed_out_of_id_order_exactly_once(
    engine: AsyncEngine, now: datetime
) -> None:
    """Two writers may take ids 1 and 2 and commit 2 first: the feed re-reads a window below
    its high-water mark, so the late row 1 still streams, and nothing streams twice."""
    async with engine.connect() as conn:
        maria_id = await _maria_id(conn)
        high = await live.high_water(conn)
    feed = LiveFeed(maria_id, high)

    async def insert(row_id: int, event_id: str) -> None:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO timeline_events (id, event_id, customer_id, channel, kind, "
                    "occurred_at, received_at, source, summary, attributes, identifiers) "
                    "OVERRIDING SYSTEM VALUE VALUES (:id, :e, :c, 'chat', 'chat_message', "
                    "now(), now(), 'test', :e, '{}', '[]')"
                ),
                {"id": row_id, "e": event_id, "c": maria_id},
            )

    async def poll() -> list[tuple[str, str | None]]:
        async with engine.connect() as conn:
            return [(e.event or "", e.id) for e in await feed.poll(conn)]

    assert await poll() == []
    await insert(high + 10, "late-second")
    assert [e for e in await poll() if e[0] == "timeline"] == [("timeline", str(high + 10))]
    await insert(high + 5, "late-first")  # took its id earlier, committed later
    assert [e for e in await poll() if e[0] == "timeline"] == [("timeline", str(high + 5))]
    assert [e for e in await poll() if e[0] == "timeline"] == []
