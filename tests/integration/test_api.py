"""The unified view API against a real, migrated PostgreSQL (rows inserted with SQLAlchemy Core)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.testing import capture_logs

from api.app import create_app
from api.auth import AdminPrincipal
from profile_store.read import profile as profiles
from profile_store.read.timeline import timeline_query
from profile_store.storage.engines import make_async_engine, make_sync_engine
from profile_store.storage.tables import customer_channels, customers, identifiers, timeline_events
from services.embedded import free_port
from tests.support.api import ADMIN, AGENT, api_client, api_settings, error_message

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

CHANNELS = ("web", "chat", "email", "call_centre", "store", "survey")
KINDS = {
    "web": "page_viewed",
    "chat": "chat_message",
    "email": "email_received",
    "call_centre": "call_completed",
    "store": "order_placed",
    "survey": "survey_response",
}
BASE = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
PHONE, EMAIL = "+14155550100", "ana.lima@mailhost.io"
N_EVENTS = 120


@dataclass(frozen=True)
class Seed:
    """What the fixture inserted; `expected` is (event_id, occurred_at, channel, kind) newest
    first, ordered as the contract says: occurred_at DESC, then id DESC."""

    expected: list[tuple[str, datetime, str, str]]


def _at(i: int) -> datetime:
    # Three events share each timestamp: ties must be broken by id, consistently.
    return BASE + timedelta(minutes=i // 3)


@pytest.fixture
def seed(clean_db: str) -> Seed:
    engine = make_sync_engine(clean_db)
    order = list(range(N_EVENTS))
    random.Random(7).shuffle(order)  # ids are not in time order
    with engine.begin() as conn:
        conn.execute(
            insert(customers),
            [
                {
                    "customer_id": "cus_ana",
                    "first_seen": BASE,
                    "last_seen": _at(N_EVENTS - 1),
                    "traits": {
                        "name": {"value": "Ana Lima", "at": "2026-11-01T09:00:00Z", "source": "x"},
                        "plan": {"value": "gold", "at": "2026-11-02T09:00:00Z", "source": "y"},
                    },
                },
                {"customer_id": "cus_bob", "first_seen": BASE, "last_seen": BASE, "traits": {}},
            ],
        )
        conn.execute(
            insert(customers),
            [{"customer_id": "cus_old", "merged_into": "cus_ana", "first_seen": BASE}],
        )
        conn.execute(
            insert(identifiers),
            [
                _ident("email", EMAIL, "cus_ana"),
                _ident("phone", PHONE, "cus_ana"),
                _ident("order_id", "W-5001", "cus_ana"),
                _ident("email", "bob@mailhost.io", "cus_bob"),
                # Not yet moved to the survivor: lookups must still answer the survivor.
                _ident("loyalty_id", "L-77", "cus_old"),
            ],
        )
        rows = []
        for i in order:
            channel = CHANNELS[i % len(CHANNELS)]
            rows.append(
                {
                    "event_id": f"evt-{i:03d}",
                    "customer_id": "cus_ana",
                    "channel": channel,
                    "kind": KINDS[channel],
                    "occurred_at": _at(i),
                    "received_at": _at(i) + timedelta(seconds=2),
                    "source": "test",
                    "summary": f"Event {i}",
                    "attributes": {"n": i},
                    "identifiers": [{"type": "phone", "value": PHONE}],
                }
            )
        ids = conn.execute(
            insert(timeline_events).returning(timeline_events.c.id, timeline_events.c.event_id),
            rows,
        ).all()
        conn.execute(
            insert(timeline_events),
            [{**rows[0], "event_id": "evt-bob", "customer_id": "cus_bob", "channel": "web"}],
        )
        conn.execute(
            insert(customer_channels),
            [
                {"customer_id": "cus_ana", "channel": c, "event_count": 20, "last_at": _at(i)}
                for i, c in enumerate(CHANNELS, start=N_EVENTS - len(CHANNELS))
            ],
        )
        conn.execute(text("ANALYZE"))
    engine.dispose()
    row_id = {event_id: rid for rid, event_id in ids}
    by_event = {r["event_id"]: r for r in rows}
    expected = sorted(
        by_event.values(), key=lambda r: (r["occurred_at"], row_id[r["event_id"]]), reverse=True
    )
    return Seed([(r["event_id"], r["occurred_at"], r["channel"], r["kind"]) for r in expected])


def _ident(id_type: str, value: str, customer_id: str) -> dict[str, Any]:
    return {
        "id_type": id_type,
        "id_value": value,
        "customer_id": customer_id,
        "event_id": "evt-000",
        "rule": "seen_together",
        "first_seen": BASE,
    }


_settings = api_settings


@pytest.fixture
async def engine(clean_db: str) -> AsyncIterator[AsyncEngine]:
    eng = make_async_engine(clean_db, pool_size=2)
    yield eng
    await eng.dispose()


_client = api_client


@pytest.fixture
async def app(clean_db: str, engine: AsyncEngine) -> FastAPI:
    return create_app(_settings(clean_db), engine=engine)


@pytest.fixture
async def client(app: FastAPI, seed: Seed) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app) as c:
        yield c


_error = error_message


# --- lookup and profile --------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["(415) 555-0100", "415.555.0100", "+1 415 555 0100", "4155550100", "1-415-555-0100"],
)
async def test_lookup_by_phone_in_any_format(client: httpx.AsyncClient, value: str) -> None:
    response = await client.get("/v1/customers/lookup", params={"type": "phone", "value": value})
    assert response.status_code == 200, response.text
    assert response.json()["customer_id"] == "cus_ana"


async def test_lookup_by_email_with_odd_case_and_spaces(client: httpx.AsyncClient) -> None:
    params = {"type": "email", "value": "  Ana.LIMA@MailHost.IO \t"}
    response = await client.get("/v1/customers/lookup", params=params)
    assert response.status_code == 200 and response.json()["customer_id"] == "cus_ana"


@pytest.mark.parametrize(("id_type", "value"), [("order_id", "W-5001"), ("loyalty_id", "L-77")])
async def test_lookup_other_identifiers_answers_the_survivor(
    client: httpx.AsyncClient, id_type: str, value: str
) -> None:
    response = await client.get("/v1/customers/lookup", params={"type": id_type, "value": value})
    assert response.status_code == 200 and response.json()["customer_id"] == "cus_ana"


async def test_lookup_unknown_identifier_is_404_json(client: httpx.AsyncClient) -> None:
    params = {"type": "phone", "value": "(212) 555-0199"}
    response = await client.get("/v1/customers/lookup", params=params)
    assert "identifier" in _error(response, 404, "not_found")


@pytest.mark.parametrize(
    ("id_type", "value", "reason"),
    [
        ("phone", "555-0100", "phone is a local number: include the area code"),
        ("phone", "12", "phone is not a possible number"),
        ("email", "ana at mailhost", "email is not an address"),
        ("Phone!", "4155550100", "identifier type"),
    ],
)
async def test_lookup_impossible_identifier_is_400_with_the_reason(
    client: httpx.AsyncClient, id_type: str, value: str, reason: str
) -> None:
    response = await client.get("/v1/customers/lookup", params={"type": id_type, "value": value})
    assert reason in _error(response, 400, "invalid_identifier")


async def test_lookup_without_value_is_422_naming_it(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/customers/lookup", params={"type": "phone"})
    assert "query.value" in _error(response, 422, "validation_error")


async def test_profile_of_a_merged_id_is_the_canonical_profile(client: httpx.AsyncClient) -> None:
    merged = (await client.get("/v1/customers/cus_old")).json()
    canonical = (await client.get("/v1/customers/cus_ana")).json()
    assert merged == canonical
    assert canonical["customer_id"] == "cus_ana" and canonical["merged_ids"] == ["cus_old"]
    assert [(i["type"], i["value"]) for i in canonical["identifiers"]] == [
        ("email", EMAIL),
        ("order_id", "W-5001"),
        ("phone", PHONE),
    ]
    assert canonical["traits"] == {"name": "Ana Lima", "plan": "gold"}
    assert canonical["first_seen"] == "2026-11-01T09:00:00Z"
    assert canonical["last_seen"] == "2026-11-01T09:39:00Z"
    assert canonical["channels"]["email"] == {"count": 20, "last_at": "2026-11-01T09:38:00Z"}
    assert set(canonical["channels"]) == set(CHANNELS) and canonical["cx"] == {}


async def test_unknown_customer_is_404_json(client: httpx.AsyncClient) -> None:
    _error(await client.get("/v1/customers/cus_nobody"), 404, "not_found")
    _error(await client.get("/v1/customers/cus_nobody/timeline"), 404, "not_found")


# --- timeline ------------------------------------------------------------------------------


async def _all_pages(
    client: httpx.AsyncClient, path: str, **params: Any
) -> tuple[list[dict[str, Any]], int]:
    items: list[dict[str, Any]] = []
    pages, cursor = 0, None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get(path, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages
        assert pages <= N_EVENTS, "pagination does not terminate"


@pytest.mark.parametrize("limit", [1, 7, 50, 60, 119, 120, 200])
async def test_pages_through_everything_exactly_once_newest_first(
    client: httpx.AsyncClient, seed: Seed, limit: int
) -> None:
    items, pages = await _all_pages(client, "/v1/customers/cus_ana/timeline", limit=limit)
    assert [i["event_id"] for i in items] == [e[0] for e in seed.expected]
    assert pages == -(-N_EVENTS // limit)  # no empty trailing page
    assert items[0]["occurred_at"] == "2026-11-01T09:39:00Z"
    assert set(items[0]) == {
        "event_id",
        "channel",
        "kind",
        "occurred_at",
        "received_at",
        "source",
        "summary",
        "attributes",
        "trust",
    }
    assert {i["trust"] for i in items} == {"server"}


async def test_default_page_is_50_and_merged_id_reads_the_same_timeline(
    client: httpx.AsyncClient,
) -> None:
    canonical = (await client.get("/v1/customers/cus_ana/timeline")).json()
    merged = (await client.get("/v1/customers/cus_old/timeline")).json()
    assert len(canonical["items"]) == 50 and canonical["next_cursor"]
    assert merged == canonical
    assert "evt-bob" not in {i["event_id"] for i in canonical["items"]}


async def test_an_empty_page_is_not_a_missing_customer(client: httpx.AsyncClient) -> None:
    future = {"since": "2030-01-01T00:00:00Z"}
    for cid in ("cus_ana", "cus_old"):
        empty = await client.get(f"/v1/customers/{cid}/timeline", params=future)
        assert empty.status_code == 200 and empty.json() == {"items": [], "next_cursor": None}
    missing = await client.get("/v1/customers/cus_nobody/timeline", params=future)
    assert error_message(missing, 404, "not_found") == "customer not found"


async def test_a_merge_chain_left_by_older_data_still_resolves(
    client: httpx.AsyncClient, seed: Seed, clean_db: str
) -> None:
    """merged_into always names the survivor; reads still follow a longer chain."""
    engine = make_sync_engine(clean_db)
    with engine.begin() as conn:
        conn.execute(insert(customers), [{"customer_id": "cus_older", "merged_into": "cus_old"}])
    engine.dispose()
    profile = (await client.get("/v1/customers/cus_older")).json()
    assert profile["customer_id"] == "cus_ana"
    chained = (await client.get("/v1/customers/cus_older/timeline", params={"limit": 5})).json()
    direct = (await client.get("/v1/customers/cus_ana/timeline", params={"limit": 5})).json()
    assert chained == direct and [i["event_id"] for i in direct["items"]] == [
        e[0] for e in seed.expected[:5]
    ]


async def test_channel_and_kind_filters(client: httpx.AsyncClient, seed: Seed) -> None:
    path = "/v1/customers/cus_ana/timeline"
    items, _ = await _all_pages(client, path, channel="email", limit=6)
    assert [i["event_id"] for i in items] == [e[0] for e in seed.expected if e[2] == "email"]
    items, _ = await _all_pages(client, path, channel=["email", "chat"], limit=200)
    assert len(items) == 40 and {i["channel"] for i in items} == {"email", "chat"}
    items, _ = await _all_pages(client, path, kind=["order_placed"], limit=200)
    assert [i["event_id"] for i in items] == [e[0] for e in seed.expected if e[3] == "order_placed"]
    items, _ = await _all_pages(client, path, channel="web", kind="order_placed")
    assert items == []


async def test_since_inclusive_until_exclusive(client: httpx.AsyncClient, seed: Seed) -> None:
    since, until = BASE + timedelta(minutes=10), BASE + timedelta(minutes=20)
    params = {"since": since.isoformat(), "until": until.isoformat(), "limit": 4}
    items, _ = await _all_pages(client, "/v1/customers/cus_ana/timeline", **params)
    assert [i["event_id"] for i in items] == [e[0] for e in seed.expected if since <= e[1] < until]
    assert len(items) == 30
    # Other offsets name the same instant.
    local = {"since": "2026-11-01T01:10:00-08:00", "until": "2026-11-01T18:20:00+09:00"}
    again, _ = await _all_pages(client, "/v1/customers/cus_ana/timeline", limit=200, **local)
    assert again == items


@pytest.mark.parametrize(
    ("params", "status", "code", "needle"),
    [
        ({"limit": 0}, 422, "validation_error", "query.limit"),
        ({"limit": 201}, 422, "validation_error", "query.limit"),
        ({"channel": "fax"}, 422, "validation_error", "query.channel"),
        ({"kind": "Bad Kind"}, 422, "validation_error", "query.kind"),
        ({"since": "2026-11-01T09:00:00"}, 422, "validation_error", "query.since"),
        ({"until": "yesterday"}, 422, "validation_error", "query.until"),
        ({"cursor": "!!!"}, 400, "invalid_cursor", "cursor"),
        ({"cursor": "WzEsMl0"}, 400, "invalid_cursor", "cursor"),  # [1,2]
        (
            {"since": "2026-11-02T00:00:00Z", "until": "2026-11-01T00:00:00Z"},
            400,
            "invalid_query",
            "since",
        ),
    ],
)
async def test_bad_timeline_parameters(
    client: httpx.AsyncClient, params: dict[str, Any], status: int, code: str, needle: str
) -> None:
    response = await client.get("/v1/customers/cus_ana/timeline", params=params)
    assert needle in _error(response, status, code)


@pytest.mark.parametrize("merged", [False, True], ids=["by-id", "by-merged-id"])
async def test_timeline_query_is_served_by_the_index_without_sorting(
    seed: Seed, engine: AsyncEngine, merged: bool
) -> None:
    """With a realistic table size the planner picks this plan on its own; 120 rows are too few,
    so scans that cannot deliver the order are switched off: the index alone must suffice.
    The route's form resolves a merged id in the same statement (`survivor_of`)."""
    sql, params = timeline_query(
        "cus_old" if merged else "cus_ana",
        follow_merge=merged,
        channel=["email", "chat"],
        since=BASE,
        until=BASE + timedelta(days=1),
        limit=50,
        after=(BASE + timedelta(minutes=30), 10**6),
    )
    async with engine.begin() as conn:
        await conn.execute(text("SET LOCAL enable_seqscan = off"))
        await conn.execute(text("SET LOCAL enable_bitmapscan = off"))
        plan = (await conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}", params)).scalar()
    nodes = list(_plan_nodes(plan[0]["Plan"]))
    # email+chat is exactly the partial conversations index (migration 0004): just as ordered.
    timeline_indexes = {"ix_timeline_customer_time", "ix_timeline_conversations"}
    assert any(n.get("Index Name") in timeline_indexes for n in nodes), nodes
    assert not any(n["Node Type"] in ("Sort", "Incremental Sort") for n in nodes), nodes


def _plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", ()):
        yield from _plan_nodes(child)


# --- auth, errors, request ids -------------------------------------------------------------


async def test_missing_or_bad_key_is_401_with_bearer_challenge(app: FastAPI, seed: Seed) -> None:
    for key in (None, "wrong-key", "dev-agent-key"):  # dev keys are refused outside dev mode
        async with _client(app, key) as c:
            response = await c.get("/v1/customers/cus_ana")
        _error(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == "Bearer"
    async with _client(app, None) as c:
        response = await c.get("/v1/customers/cus_ana", headers={"Authorization": "Basic eDp5"})
    _error(response, 401, "unauthorized")


async def test_agent_and_admin_keys_read(app: FastAPI, seed: Seed) -> None:
    for key in (AGENT, ADMIN):
        async with _client(app, key) as c:
            assert (await c.get("/v1/customers/cus_ana")).status_code == 200


async def test_admin_only_routes_are_403_for_agents(app: FastAPI, seed: Seed) -> None:
    @app.get("/v1/admin-probe")
    async def probe(principal: AdminPrincipal) -> dict[str, str]:
        return {"name": principal.name}

    async with _client(app, AGENT) as c:
        _error(await c.get("/v1/admin-probe"), 403, "forbidden")
    async with _client(app, ADMIN) as c:
        assert (await c.get("/v1/admin-probe")).json() == {"name": "ops"}


async def test_dev_mode_accepts_the_dev_keys(clean_db: str, engine: AsyncEngine) -> None:
    app = create_app(_settings(clean_db, dev_mode=True, api_keys=[]), engine=engine)
    for key in ("dev-agent-key", "dev-admin-key"):
        async with _client(app, key) as c:
            _error(await c.get("/v1/customers/cus_nobody"), 404, "not_found")


async def test_unknown_route_and_wrong_method_are_json(client: httpx.AsyncClient) -> None:
    _error(await client.get("/v1/nothing/here"), 404, "not_found")
    response = await client.post("/v1/customers/cus_ana")
    _error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET"


async def test_request_ids(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "trace-42"})
    assert response.headers["x-request-id"] == "trace-42"
    generated = (await client.get("/healthz", headers={"X-Request-ID": "bad id!"})).headers
    assert generated["x-request-id"] not in ("bad id!", "")


async def test_unexpected_errors_are_bare_500s_and_log_no_pii(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError(f"exploded while reading {PHONE}")

    monkeypatch.setattr(profiles, "find_profile", boom)
    with capture_logs() as logs:
        response = await client.get(
            "/v1/customers/lookup", params={"type": "phone", "value": PHONE}
        )
    assert _error(response, 500, "internal_error") == "internal server error"
    assert PHONE not in response.text and PHONE not in repr(logs)
    assert any(e["event"] == "unhandled_error" and e["error_type"] == "RuntimeError" for e in logs)
    assert "x-request-id" in response.headers


async def test_lookups_log_no_identifiers(client: httpx.AsyncClient) -> None:
    with capture_logs() as logs:
        await client.get("/v1/customers/lookup", params={"type": "phone", "value": "4155550100"})
        await client.get("/v1/customers/lookup", params={"type": "phone", "value": "555-0100"})
    assert logs and "4155550100" not in repr(logs) and "555-0100" not in repr(logs)
    assert {e.get("route") for e in logs if e["event"] == "request"} == {"/v1/customers/lookup"}


async def test_database_down_is_503(seed: Seed) -> None:
    dead = f"postgresql://nobody:pw@127.0.0.1:{free_port()}/nothing"
    app = create_app(_settings(dead))
    async with app.router.lifespan_context(app), _client(app) as c:
        _error(await c.get("/v1/customers/cus_ana"), 503, "database_unavailable")
        # Bad input is still a 4xx while the database is down.
        bad = await c.get("/v1/customers/lookup", params={"type": "phone", "value": "555-0100"})
        _error(bad, 400, "invalid_identifier")
        _error(
            await c.get("/v1/customers/x/timeline", params={"limit": 0}), 422, "validation_error"
        )
        ready = await c.get("/readyz")
    assert "database" in _error(ready, 503, "not_ready")
    assert ready.json()["checks"]["database"] == "down"
    assert app.state.engine is None  # the lifespan disposed the engine it created


# --- operations ----------------------------------------------------------------------------


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"Authorization": ""})
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_readyz_needs_the_kafka_bootstrap(clean_db: str, engine: AsyncEngine) -> None:
    closed = create_app(_settings(clean_db), engine=engine)
    async with _client(closed, None) as c:
        response = await c.get("/readyz")
    message = _error(response, 503, "not_ready")
    assert "kafka" in message and "database" not in message
    assert response.json()["checks"] == {"database": "ok", "kafka": "down"}

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        # Any one reachable bootstrap server is enough.
        bootstrap = f"127.0.0.1:{free_port()},127.0.0.1:{port}"
        listening = create_app(_settings(clean_db, kafka_bootstrap=bootstrap), engine=engine)
        async with _client(listening, None) as c:
            response = await c.get("/readyz")
    finally:
        server.close()
        await server.wait_closed()
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "kafka": "ok"}}


async def test_metrics_histogram_by_route_template(client: httpx.AsyncClient) -> None:
    await client.get("/v1/customers/cus_ana")
    await client.get("/v1/customers/lookup", params={"type": "phone", "value": PHONE})
    await client.get(f"/v1/unknown/{PHONE}")
    response = await client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    body = response.text
    assert "# TYPE threadline_api_request_duration_seconds histogram" in body
    assert (
        'threadline_api_request_duration_seconds_count{method="GET",'
        'route="/v1/customers/{customer_id}",status="200"} 1.0'
    ) in body
    assert 'route="unmatched",status="404"' in body
    assert "cus_ana" not in body and "4155550100" not in body


async def test_openapi_documents_models_and_errors(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    timeline = spec["paths"]["/v1/customers/{customer_id}/timeline"]["get"]
    assert timeline["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TimelinePage"
    }
    assert {"400", "401", "404", "422"} <= set(timeline["responses"])
    assert spec["components"]["schemas"]["Profile"]["examples"]
    assert "ApiKey" in spec["components"]["securitySchemes"]
    # Every operation that takes a key can answer 429 (the limit is per key, on every route).
    operations = [op for ops in spec["paths"].values() for op in ops.values()]
    keyed = [op for op in operations if "security" in op]
    assert len(keyed) >= 15
    for operation in keyed:
        limited = operation["responses"]["429"]
        assert "Retry-After" in limited["headers"]
        assert limited["content"] == operation["responses"]["401"]["content"]
    assert all("429" not in op["responses"] for op in operations if "security" not in op)


async def test_the_api_recovers_from_dropped_database_connections(
    clean_db: str, seed: Seed, engine: AsyncEngine
) -> None:
    """The app's own pool does not ping on checkout: a restart (here every other backend of the
    database terminated) costs at most one 503, then every request succeeds again."""
    app = create_app(_settings(clean_db))
    async with app.router.lifespan_context(app), _client(app) as client:
        for _ in range(3):
            assert (await client.get("/v1/customers/cus_ana")).status_code == 200
        async with engine.begin() as conn:
            killed = await conn.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        assert killed >= 1
        statuses = [(await client.get("/v1/customers/cus_ana")).status_code for _ in range(4)]
    assert statuses[0] in (200, 503) and statuses[1:] == [200, 200, 200], statuses
