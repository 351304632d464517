"""Screen pops from the worker to the agent's stream, against real PostgreSQL: the worker's
batch handler records a pop once the call's event is in a timeline, naming the customer it
landed on; `GET /v1/me/stream` delivers it to that agent's consoles only, on every API
process, and a console opened during the call still gets it. (The whole path from the
gateway through Kafka to the browser is in tests/e2e/test_console_live_browser.py.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.settings import hash_key
from ingest.call_centre.screen_pop import map_screen_pop
from profile_store.privacy.erasure import erase
from profile_store.write.screen_pops import record_screen_pops
from profile_store.write.writer import TimelineWriter
from schemas import CanonicalEvent
from schemas.screen_pops import screen_pop_of
from services.pipeline import BatchProcessor, Record
from tests.support.api import AGENT, api_settings, running_api
from tests.support.journey import MARIA_PHONE, maria_journey

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

OTHER_AGENT = "other-agent-key-for-tests"


def _pop_event(agent: str, contact: str, rang_at: datetime | None = None) -> CanonicalEvent:
    body: dict[str, Any] = {"agent": agent, "caller": {"phone": MARIA_PHONE}, "contact_id": contact}
    return map_screen_pop(body, rang_at or datetime.now(UTC))


async def _dead(_: Any) -> None:
    raise AssertionError("nothing here should be dead-lettered")


async def test_the_worker_records_a_pop_once_naming_the_customer_the_call_landed_on(
    engine: AsyncEngine,
) -> None:
    now = datetime.now(UTC)
    writer = TimelineWriter(engine)
    await writer.write(maria_journey(now))
    processor = BatchProcessor(writer, _dead, record_pops=lambda p: record_screen_pops(engine, p))
    event = _pop_event("desk", "c-1")
    record = Record(value=event.to_json(), topic="threadline.interactions", partition=0, offset=1)
    outcome = await processor.process([record])
    assert outcome.written == 1
    await processor.process([record])  # redelivered: one pop still
    async with engine.connect() as conn:
        rows = (
            await conn.execute(text("SELECT agent, customer_id, event_id FROM screen_pops"))
        ).all()
        maria = (
            await conn.execute(
                text("SELECT customer_id FROM identifiers WHERE id_value = :p"), {"p": MARIA_PHONE}
            )
        ).scalar_one()
    assert [tuple(r) for r in rows] == [("desk", maria, event.event_id)]
    # A pop whose event is in no timeline (dropped, dead-lettered) is not recorded.
    stray = _pop_event("desk", "c-stray")
    pop = screen_pop_of(stray.attributes)
    assert pop is not None
    assert await record_screen_pops(engine, [(pop, stray.event_id)]) == 0
    # Erasing the customer erases the pops that named them.
    await erase(engine, maria, b"screen-pop-test-salt-0123", actor="ops", role="admin")
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM screen_pops"))).scalar_one() == 0


async def _events(lines: AsyncIterator[str], into: list[dict[str, Any]]) -> None:
    name = None
    async for line in lines:
        if line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            into.append({"event": name, **orjson.loads(line.split(":", 1)[1])})


@asynccontextmanager
async def _listening(http: httpx.AsyncClient, key: str) -> AsyncIterator[list[dict[str, Any]]]:
    """An open `/v1/me/stream` for `key`, collecting its events until the block ends."""
    received: list[dict[str, Any]] = []
    async with http.stream(
        "GET", "/v1/me/stream", headers={"Authorization": f"Bearer {key}"}
    ) as response:
        assert response.status_code == 200
        reader = asyncio.create_task(_events(response.aiter_lines(), received))
        try:
            await _until(lambda: any(e["event"] == "ready" for e in received))
            yield received
        finally:
            reader.cancel()


async def _until(check: Any) -> None:
    deadline = asyncio.get_running_loop().time() + 20
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_a_pop_reaches_the_named_agents_consoles_on_every_process_and_no_one_else(
    clean_db: str, engine: AsyncEngine
) -> None:
    now = datetime.now(UTC)
    writer = TimelineWriter(engine)
    await writer.write(maria_journey(now))
    keys = [
        {"name": "desk", "role": "agent", "sha256": hash_key(AGENT)},
        {"name": "desk-2", "role": "agent", "sha256": hash_key(OTHER_AGENT)},
    ]
    settings = api_settings(clean_db, api_keys=keys, screen_pop_poll_interval=0.05)

    async def pop(agent: str, contact: str, rang_at: datetime | None = None) -> str:
        event = _pop_event(agent, contact, rang_at)
        await writer.write([event])
        found = screen_pop_of(event.attributes)
        assert found is not None
        await record_screen_pops(engine, [(found, event.event_id)])
        return found.pop_id

    # A pop of a call still going on when the console opens: shown; an old one: not.
    early = await pop("desk", "c-early")
    await pop("desk", "c-old", now - timedelta(minutes=10))
    with running_api(create_app(settings)) as one, running_api(create_app(settings)) as two:
        async with (
            httpx.AsyncClient(base_url=one, timeout=20) as a,
            httpx.AsyncClient(base_url=two, timeout=20) as b,
            _listening(a, AGENT) as desk_on_one,
            _listening(b, AGENT) as desk_on_two,
            _listening(a, OTHER_AGENT) as other,
        ):
            await _until(lambda: any(e.get("pop_id") == early for e in desk_on_one))
            live = await pop("desk", "c-live")
            for console in (desk_on_one, desk_on_two):
                await _until(lambda c=console: any(e.get("pop_id") == live for e in c))
            await pop("desk-2", "c-theirs")
            await _until(lambda: any(e["event"] == "pop" for e in other))
    maria = next(e["customer_id"] for e in desk_on_one if e["event"] == "pop")
    for console in (desk_on_one, desk_on_two):
        pops = [e for e in console if e["event"] == "pop"]
        assert [e["pop_id"] for e in pops][-1] == live
        assert all(e["customer_id"] == maria for e in pops)
        assert not any("c-old" in e["event_id"] or "c-theirs" in e["event_id"] for e in pops)
    assert [e["event_id"].split(":")[-1] for e in other if e["event"] == "pop"] == ["c-theirs"]
