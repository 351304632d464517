"""Insight refresh, API and signals on the generated journey set, against real PostgreSQL
(written through the real timeline writer) and the real broker."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date, timedelta
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
    del want["path_matters"]  # served by /paths
    got = {k: round(v, 6) for k, v in body["measures"].items() if v}
    assert got == {k: v for k, v in want.items() if v}
    assert body["totals"]["repeat_contact_rate"] == round(100 * 3 / 9, 2)
    assert body["totals"]["nps"] == 0.0 and body["as_of"] == "2026-05-01T09:00:00Z"
    assert body["by_channel"]["call_centre"]["nps"] == 0.0  # one promoter, one detractor
    assert body["by_channel"]["web"]["avg_hours_to_first_purchase"] == 1.0  # the online order
    assert body["by_channel"]["store"]["avg_hours_to_first_purchase"] == 50.0
    assert body["by_journey"]["after_self_service"]["nps"] == 100.0
    assert body["by_journey"]["switched"]["nps"] == -100.0
    assert body["self_service_failed_to"] == {"call_centre": PER_SCRIPT}
    weeks = body["by_week"]
    assert sum(w["figures"]["contacts"] for w in weeks) == want["contacts"]
    assert all(date.fromisoformat(w["day"]).weekday() == 0 for w in weeks)

    chat_only = await client.get("/v1/insights/metrics", params={**RANGE, "channel": "chat"})
    assert chat_only.json()["measures"]["contacts"] == expected[("chat", "contacts")]

    paths = (await client.get("/v1/insights/paths", params=RANGE)).json()
    want_paths = {p: PER_SCRIPT for p in PATHS.values()}
    want_paths["call_centre"] = 2 * PER_SCRIPT  # two_orders: two matters each
    assert {p["path"]: p["matters"] for p in paths["paths"]} == want_paths
    through_chat = await client.get("/v1/insights/paths", params={**RANGE, "channel": "chat"})
    assert sorted(p["path"] for p in through_chat.json()["paths"]) == sorted(
        [PATHS["one_chat"], PATHS["order_chaser"]]
    )

    # The customers behind the switched-journey detractors are the email-then-call journeys,
    # named; the events behind one of them are the email, the call and the answer.
    switched = [j for j in journeys if j.script == "email_then_call"]
    page = await client.get(
        "/v1/insights/customers",
        params={**RANGE, "metric": "nps_detractors", "detail": "switched"},
    )
    assert page.status_code == 200, page.text
    listed = page.json()["customers"]
    assert {c["customer_id"] for c in listed} == {ids[j.customer] for j in switched}
    names = {ids[j.customer]: j.name for j in switched}
    assert all(c["name"] == names[c["customer_id"]] for c in listed)
    assert all(c["contact"].endswith("@journeys.test") for c in listed)
    one = switched[0]
    why = await client.get(
        f"/v1/insights/customers/{ids[one.customer]}/evidence",
        params={**RANGE, "metric": "nps_detractors"},
    )
    assert why.status_code == 200, why.text
    (item,) = why.json()["items"]
    assert item["detail"] == "switched" and item["channel"] == "call_centre"
    assert [e["event_id"] for e in item["events"]] == [one.event_id(3), one.event_id(0),
                                                        one.event_id(1)]  # fmt: skip
    assert item["events"][0]["summary"] == f"survey_response {one.event_id(3)}"
    day = (one.start + timedelta(hours=26)).date().isoformat()
    by_day = await client.get(
        "/v1/insights/customers", params={"metric": "repeat_contacts", "day": day}
    )
    assert ids[one.customer] in {c["customer_id"] for c in by_day.json()["customers"]}


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


async def test_refreshes_at_the_same_time_take_turns(
    clean_db: str, engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    """The dev stack's rounds, the demo and a CronJob may refresh at once: the later one reads
    what the earlier one committed, and both succeed."""
    await write(engine, journey_set(per_script=PER_SCRIPT))
    run_refresh(clean_db)
    alone = (await client.get("/v1/insights/metrics", params=RANGE)).json()
    errors: list[BaseException] = []

    def one() -> None:
        try:
            run_refresh(clean_db)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    together = (await client.get("/v1/insights/metrics", params=RANGE)).json()
    assert together["measures"] == alone["measures"]


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
    both = {"metric": "contacts", "day": "2026-03-02", **RANGE}
    resp = await client.get("/v1/insights/customers", params=both)
    assert resp.status_code == 400 and "day" in resp.json()["error"]["message"]
    resp = await client.get("/v1/insights/customers", params={"metric": "contacts"})
    assert resp.status_code == 400
    unknown = await client.get(
        "/v1/insights/customers/nobody/evidence", params={"metric": "contacts", **RANGE}
    )
    assert unknown.status_code == 404
    anon = await client.get("/v1/insights/paths", params=RANGE, headers={"Authorization": ""})
    assert anon.status_code == 401
