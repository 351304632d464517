"""Export, erasure and tombstones against real PostgreSQL, written by the real batch writer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial

import httpx
import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.settings import ApiSettings, hash_key
from profile_store.deadletters import record_dead_letters
from profile_store.privacy.tombstones import TombstonePolicy, identifier_hash, tombstoned_event_ids
from profile_store.storage.audit import list_audit
from profile_store.storage.tables import (
    customers,
    dead_letters,
    erasure_tombstones,
    identifiers,
    identity_constraints,
    merges,
    timeline_events,
)
from profile_store.write.writer import TimelineWriter
from schemas import CanonicalEvent
from schemas.deadletter import Component, DeadLetter, Failure, FailureType
from services.embedded import free_port
from tests.support.events import T0, event

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

AGENT, ADMIN, SALT = "privacy-agent-key", "privacy-admin-key", "privacy-test-erasure-salt"
EMAIL, PHONE = "maria@shop.io", "+14155550132"

#: Maria: two customers (web device, then phone) merged by an identify carrying both.
MARIA = [
    event("m-1", ("anonymous_id", "dev-m"), ("email", EMAIL), minutes=0),
    event("m-2", ("phone", PHONE), ("order_id", "W-5001"), minutes=1, channel="store"),
    event("m-3", ("email", EMAIL), ("phone", PHONE), minutes=2, kind="identified"),
    event("m-4", ("phone", PHONE), minutes=3, channel="call_centre", kind="call_completed"),
]
BOB = [event("b-1", ("email", "bob@shop.io"), minutes=0)]


@pytest.fixture
async def stored(engine: AsyncEngine) -> str:
    writer = TimelineWriter(engine)
    for e in [*MARIA, *BOB]:
        await writer.write([e])
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(identity_constraints).values(
                kind="separate",
                a_type="email",
                a_value=EMAIL,
                b_type="email",
                b_value="bob@shop.io",
                actor="ops",
                reason="different people",
            )
        )
    poison = event("m-5", ("email", EMAIL), minutes=5)
    await record_dead_letters(
        engine,
        [
            DeadLetter.of(
                Component.WORKER_WRITE,
                Failure(type=FailureType.DATABASE_REFUSED, message="x"),
                poison.to_json(),
                T0,
            )
        ],
    )
    async with engine.connect() as conn:
        owner = await conn.scalar(
            sa.select(timeline_events.c.customer_id).where(timeline_events.c.event_id == "m-4")
        )
    return str(owner)


@pytest.fixture
async def app_client(clean_db: str, engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    settings = ApiSettings(
        database_url=clean_db,
        kafka_bootstrap=f"127.0.0.1:{free_port()}",
        erasure_salt=SALT,
        api_keys=[
            {"name": "desk", "role": "agent", "sha256": hash_key(AGENT)},
            {"name": "ops", "role": "admin", "sha256": hash_key(ADMIN)},
        ],
    )
    app = create_app(settings, engine=engine)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://api.test",
            headers={"Authorization": f"Bearer {ADMIN}"},
        ) as client,
    ):
        yield client


async def count(engine: AsyncEngine, table: sa.Table) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


async def test_export_holds_everything_and_is_admin_only(
    app_client: httpx.AsyncClient, stored: str
) -> None:
    denied = await app_client.get(
        f"/v1/customers/{stored}/export", headers={"Authorization": f"Bearer {AGENT}"}
    )
    assert denied.status_code == 403
    response = await app_client.get(f"/v1/customers/{stored}/export")
    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["format"] == "threadline.export.v1" and doc["customer_id"] == stored
    assert [e["event_id"] for e in doc["timeline"]] == ["m-1", "m-2", "m-3", "m-4"]
    held = {(i["type"], i["value"]) for i in doc["profile"]["identifiers"]}
    assert held == {
        ("anonymous_id", "dev-m"),
        ("email", EMAIL),
        ("phone", PHONE),
        ("order_id", "W-5001"),
    }
    assert {(link["type"], link["value"]) for link in doc["lineage"]["links"]} == held
    assert len(doc["lineage"]["merges"]) == 1 and len(doc["profile"]["merged_ids"]) == 1
    assert doc["timeline"][0]["identifiers"] == [
        {"type": "anonymous_id", "value": "dev-m"},
        {"type": "email", "value": EMAIL},
    ]
    assert [c["kind"] for c in doc["identity_constraints"]] == ["separate"]
    assert "bob" not in orjson.dumps(doc["timeline"]).decode()
    # The merged-away id exports the same person; the export itself was audited.
    merged = await app_client.get(f"/v1/customers/{doc['profile']['merged_ids'][0]}/export")
    assert merged.json()["customer_id"] == stored
    assert doc["audit"] == [] and merged.json()["audit"][0]["action"] == "customer.exported"
    assert (await app_client.get("/v1/customers/cus_nobody/export")).status_code == 404


async def test_erasure_removes_everything_leaves_tombstones_and_audits_without_pii(
    app_client: httpx.AsyncClient, engine: AsyncEngine, stored: str
) -> None:
    denied = await app_client.delete(
        f"/v1/customers/{stored}", headers={"Authorization": f"Bearer {AGENT}"}
    )
    assert denied.status_code == 403
    merged_id = (await app_client.get(f"/v1/customers/{stored}")).json()["merged_ids"][0]
    response = await app_client.delete(f"/v1/customers/{merged_id}")  # any of its ids
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["customer_id"] == stored and body["tombstones"] == 4
    assert body["deleted"] == {
        "customers": 2,
        "timeline_events": 4,
        "identifiers": 4,
        "merges": 1,
        "identity_conflicts": 0,
        "identity_constraints": 1,
        "dead_letters": 1,
    }
    for cid in (stored, merged_id):
        assert (await app_client.get(f"/v1/customers/{cid}")).status_code == 404
    lookup = await app_client.get("/v1/customers/lookup", params={"type": "phone", "value": PHONE})
    assert lookup.status_code == 404
    assert (await app_client.delete(f"/v1/customers/{stored}")).status_code == 404
    # Bob is untouched; only Maria's rows went.
    assert await count(engine, timeline_events) == 1
    assert await count(engine, customers) == 1 and await count(engine, identifiers) == 1
    assert await count(engine, merges) == 0 and await count(engine, dead_letters) == 0
    async with engine.connect() as conn:
        hashes = set((await conn.scalars(sa.select(erasure_tombstones.c.identifier_hash))).all())
        audit = await list_audit(conn, customer_id=stored)
    salt = SALT.encode()
    assert identifier_hash(salt, "phone", PHONE) in hashes and len(hashes) == 4
    # Newest first: the erasure, after the reads that are audited too.
    assert audit[0].action == "customer.erased"
    assert [a.action for a in audit[1:]] == ["profile_view"]
    detail = orjson.dumps(audit[0].detail).decode()
    for pii in (EMAIL, PHONE, "dev-m", "W-5001", "maria"):
        assert pii not in detail
    assert audit[0].actor == "ops" and sorted(audit[0].detail["tombstones"]) == sorted(hashes)


async def write_unless_tombstoned(
    engine: AsyncEngine, events: list[CanonicalEvent], policy: TombstonePolicy = "drop"
) -> set[str]:
    """Through the writer as the worker runs it (the check inside its locked transaction):
    the ids it dropped as an erased person's."""
    ids = {e.event_id for e in events}
    async with engine.connect() as conn:
        there = await conn.scalars(
            sa.select(timeline_events.c.event_id).where(timeline_events.c.event_id.in_(ids))
        )
        already = set(there.all())
    erased = partial(tombstoned_event_ids, salt=SALT.encode(), policy=policy)
    result = await TimelineWriter(engine, exclude=erased).write(events)
    dropped = ids - result.written_ids - already
    assert result.erased == len(dropped)
    return dropped


async def test_tombstones_survive_a_replay_of_the_erased_persons_events(
    app_client: httpx.AsyncClient, engine: AsyncEngine, stored: str
) -> None:
    assert (await app_client.delete(f"/v1/customers/{stored}")).status_code == 200
    late = event("m-9", ("phone", "(415) 555-0132"), ("anonymous_id", "dev-new"), minutes=9)
    replay = [*MARIA, late, *BOB, event("c-1", ("email", "carol@shop.io"))]
    dropped = await write_unless_tombstoned(engine, replay)
    assert dropped == {"m-1", "m-2", "m-3", "m-4", "m-9"}
    async with engine.connect() as conn:
        left = set((await conn.scalars(sa.select(timeline_events.c.event_id))).all())
        held = set((await conn.scalars(sa.select(identifiers.c.id_value))).all())
    assert left == {"b-1", "c-1"}
    assert held == {"bob@shop.io", "carol@shop.io"}
    lookup = await app_client.get("/v1/customers/lookup", params={"type": "email", "value": EMAIL})
    assert lookup.status_code == 404


async def test_consent_policy_starts_a_fresh_profile_on_explicit_new_consent(
    app_client: httpx.AsyncClient, engine: AsyncEngine, stored: str
) -> None:
    assert (await app_client.delete(f"/v1/customers/{stored}")).status_code == 200
    again = event("m-10", ("email", EMAIL), minutes=10, attributes={"consent": "granted"})
    assert await write_unless_tombstoned(engine, [MARIA[0]], "consent") == {"m-1"}
    assert await write_unless_tombstoned(engine, [again], "consent") == set()
    # The consent lifted the email's tombstone: her later events are accepted again.
    assert await write_unless_tombstoned(engine, [MARIA[2]], "consent") == {"m-3"}  # phone
    later = event("m-11", ("email", EMAIL), minutes=11)
    assert await write_unless_tombstoned(engine, [later], "consent") == set()
    profile = await app_client.get("/v1/customers/lookup", params={"type": "email", "value": EMAIL})
    assert profile.status_code == 200
    fresh = profile.json()
    assert fresh["customer_id"] != stored
    assert [i["type"] for i in fresh["identifiers"]] == ["email"]
    page = await app_client.get(f"/v1/customers/{fresh['customer_id']}/timeline")
    assert [i["event_id"] for i in page.json()["items"]] == ["m-11", "m-10"]


async def test_erasure_follows_a_merge_chain_to_its_end(
    app_client: httpx.AsyncClient, engine: AsyncEngine, stored: str
) -> None:
    """Bob merged into Maria's merged-away id (a chain Bob -> merged -> survivor, which a
    merge would have flattened): erasing Maria removes Bob's rows too."""
    merged_id = (await app_client.get(f"/v1/customers/{stored}")).json()["merged_ids"][0]
    async with engine.begin() as conn:
        bob = await conn.scalar(
            sa.select(timeline_events.c.customer_id).where(timeline_events.c.event_id == "b-1")
        )
        await conn.execute(
            sa.update(customers).where(customers.c.customer_id == bob).values(merged_into=merged_id)
        )
    response = await app_client.delete(f"/v1/customers/{stored}")
    assert response.status_code == 200, response.text
    assert response.json()["deleted"]["customers"] == 3
    assert await count(engine, timeline_events) == 0 and await count(engine, customers) == 0
