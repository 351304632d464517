"""Moments-of-truth signals end to end: rules over stored timelines, the outbox to the real
broker and to a webhook (first answer 503, then 200), the profile badge route."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from services.insights import InsightsSettings, run_signals
from tests.integration.test_insights import write
from tests.support.api import AGENT, api_client, api_settings
from tests.support.journeys import AS_OF, SIGNALS, journey_set
from tests.support.signals import Hook, consume, serving_hook

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture
def hook() -> Iterator[Hook]:
    with serving_hook() as h:
        yield h


@pytest.fixture
async def client(clean_db: str, engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(create_app(api_settings(clean_db), engine=engine), AGENT) as c:
        yield c


async def test_signals_reach_kafka_the_webhook_and_the_badge_once(
    clean_db: str, kafka_bootstrap: str, engine: AsyncEngine, client: httpx.AsyncClient, hook: Hook
) -> None:
    journeys = journey_set(per_script=2)
    ids = await write(engine, journeys)
    recent = InsightsSettings(database_url=clean_db, kafka_bootstrap=kafka_bootstrap)
    # Moments two months old are no moments to act on: none is raised.
    assert run_signals(recent, as_of=AS_OF) == {"new": 0, "published": 0, "webhook": 0}
    settings = InsightsSettings(
        database_url=clean_db,
        kafka_bootstrap=kafka_bootstrap,
        signal_lookback_hours=24 * 90,
        signal_webhook_url=hook.url,
        signal_webhook_retries=2,
    )
    first = run_signals(settings, as_of=AS_OF)
    assert first == {"new": 6, "published": 6, "webhook": 6}
    assert run_signals(settings, as_of=AS_OF) == {"new": 0, "published": 0, "webhook": 0}

    expected = {
        (ids[j.customer], rule, j.event_id(step))
        for j in journeys
        for rule, step in SIGNALS.get(j.script, set())
    }
    got = consume(kafka_bootstrap, set(ids.values()))
    assert {(p["customer_id"], p["rule"], p["anchor_event_id"]) for p in got} == expected
    assert len(got) == len(expected)  # published once
    assert hook.calls == 7  # one 503, retried
    assert {(b["customer_id"], b["rule"], b["anchor_event_id"]) for b in hook.bodies} == expected

    chaser = next(j for j in journeys if j.script == "order_chaser")
    resp = await client.get(f"/v1/customers/{ids[chaser.customer]}/signals")
    assert resp.status_code == 200, resp.text
    (badge,) = resp.json()["signals"]
    assert badge["rule"] == "order_contacts" and badge["anchor_event_id"] == chaser.event_id(3)
    assert badge["detail"] == "contact 2 about order W-1 (chat after call)"
    caller = next(j for j in journeys if j.script == "email_then_call")
    newest_first = (await client.get(f"/v1/customers/{ids[caller.customer]}/signals")).json()
    assert [s["rule"] for s in newest_first["signals"]] == [
        "detractor_open_matter",
        "unanswered_email",
    ]
    buyer = next(j for j in journeys if j.script == "store_buyer")
    assert (await client.get(f"/v1/customers/{ids[buyer.customer]}/signals")).json()[
        "signals"
    ] == []
    assert (await client.get("/v1/customers/nobody/signals")).status_code == 404
