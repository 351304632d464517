"""Insight refresh, API and signals on the generated journey set, against real PostgreSQL
(written through the real timeline writer) and the real broker."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from profile_store.insights.refresh import refresh
from profile_store.storage.engines import make_sync_engine
from profile_store.write.writer import TimelineWriter
from tests.support.api import AGENT, api_client, api_settings
from tests.support.journeys import (
    AS_OF,
    PATHS,
    START,
    Journey,
    expected_totals,
    journey_set,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

PER_SCRIPT = 4
RANGE = {"from": START.date().isoformat(), "to": (START + timedelta(days=40)).date().isoformat()}


@pytest.fixture
async def client(clean_db: str, engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(create_app(api_settings(clean_db), engine=engine), AGENT) as c:
        yield c


async def write(engine: AsyncEngine, journeys: list[Journey]) -> dict[str, str]:
    """Write through the real writer; returns journey customer -> stored customer id."""
    await TimelineWriter(engine).write([e for j in journeys for e in j.canonical()])
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.text("SELECT id_value, customer_id FROM identifiers WHERE id_type = 'email'")
        )
        return {v.split("@")[0]: c for v, c in rows}


def run_refresh(url: str, **kw: Any) -> None:
    eng = make_sync_engine(url)
    try:
        refresh(eng, as_of=AS_OF, **kw)
    finally:
        eng.dispose()


async def test_metrics_paths_and_customers_match_the_known_answers(
    clean_db: str, engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    journeys = journey_set(per_script=PER_SCRIPT)
    ids = await write(engine, journeys)
    run_refresh(clean_db)

    resp = await client.get("/v1/insights/metrics", params=RANGE)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    expected = expected_totals(journeys)
    want = Counter[str]()
    for (_c, measure), v in expected.items():
        want[measure] += v
    del want["path_episodes"]  # served by /paths
    assert {k: v for k, v in body["measures"].items() if v} == {k: v for k, v in want.items() if v}
    assert body["totals"]["repeat_contact_rate"] == round(100 * 6 / 11, 2)
    assert body["totals"]["nps"] == 0.0 and body["as_of"] == "2026-05-01T09:00:00Z"
    assert body["by_channel"]["call_centre"]["nps"] == -100.0
    assert body["by_channel"]["email"]["nps"] == 100.0

    chat_only = await client.get("/v1/insights/metrics", params={**RANGE, "channel": "chat"})
    assert chat_only.json()["measures"]["contacts"] == expected[("chat", "contacts")]

    paths = (await client.get("/v1/insights/paths", params=RANGE)).json()
    assert {p["path"]: p["episodes"] for p in paths["paths"]} == {
        p: PER_SCRIPT for p in PATHS.values()
    }
    through_store = await client.get("/v1/insights/paths", params={**RANGE, "channel": "store"})
    assert [p["path"] for p in through_store.json()["paths"]] == [PATHS["order_chaser"]]

    # The customers behind the call-centre detractors of each day are the detractor journeys.
    detractors = [j for j in journeys if j.script == "detractor"]
    found: set[str] = set()
    for day in {(j.start + timedelta(hours=1)).date() for j in detractors}:
        page = await client.get(
            "/v1/insights/customers",
            params={"metric": "nps_detractors", "day": day.isoformat(), "channel": "call_centre"},
        )
        assert page.status_code == 200, page.text
        found |= {c["customer_id"] for c in page.json()["customers"]}
    assert found == {ids[j.customer] for j in detractors}


async def test_incremental_refresh_equals_a_full_one(
    clean_db: str, engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    journeys = journey_set(per_script=PER_SCRIPT)
    early = [j for j in journeys if j.start < START + timedelta(days=10)]
    late = [j for j in journeys if j not in early]
    backdate = sa.text("UPDATE timeline_events SET written_at = occurred_at")
    await write(engine, early)
    async with engine.begin() as conn:
        await conn.execute(backdate)  # as if written when they happened
    run_refresh(clean_db)
    await write(engine, late)
    async with engine.begin() as conn:
        await conn.execute(backdate)
    eng = make_sync_engine(clean_db)
    try:
        inc = refresh(eng, since=(START + timedelta(days=10)).date(), as_of=AS_OF, full_share=1.0)
    finally:
        eng.dispose()
    assert inc.since is not None and len(late) <= inc.customers < len(journeys)
    incremental = (await client.get("/v1/insights/metrics", params=RANGE)).json()
    run_refresh(clean_db)
    full = (await client.get("/v1/insights/metrics", params=RANGE)).json()
    assert incremental["measures"] == full["measures"]
    assert incremental["by_day"] == full["by_day"]
    assert len(late) > 0 and len(early) > 0


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"from": "2026-03-05", "to": "2026-03-01"}, 400, "invalid_query"),
        ({"from": "2024-01-01", "to": "2026-03-01"}, 400, "invalid_query"),
        ({"from": "2026-03-01"}, 422, "validation_error"),
        ({"from": "2026-03-01", "to": "yesterday"}, 422, "validation_error"),
        ({**RANGE, "channel": "fax"}, 422, "validation_error"),
    ],
)
async def test_bad_ranges_are_named_4xx(
    client: httpx.AsyncClient, params: dict[str, str], status: int, code: str
) -> None:
    resp = await client.get("/v1/insights/metrics", params=params)
    assert resp.status_code == status, resp.text
    assert resp.json()["error"]["code"] == code


async def test_customers_route_refuses_unknown_metrics_and_needs_a_key(
    client: httpx.AsyncClient,
) -> None:
    resp = await client.get("/v1/insights/customers", params={"metric": "x", "day": "2026-03-02"})
    assert resp.status_code == 422 and "metric" in resp.json()["error"]["message"]
    anon = await client.get("/v1/insights/paths", params=RANGE, headers={"Authorization": ""})
    assert anon.status_code == 401
