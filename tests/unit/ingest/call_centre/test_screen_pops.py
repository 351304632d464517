"""Screen pops at the gateway: the generic CTI route and Twilio TaskRouter event callbacks,
pure mappings and the routes in-process (a recording publisher, no broker). The TaskRouter
samples carry the parameters Twilio's "TaskRouter Events reference" lists for a reservation
event, with a voice task's attributes as `<Enqueue>` sets them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from twilio.request_validator import RequestValidator

from ingest.app import create_app
from ingest.call_centre.screen_pop import map_screen_pop
from ingest.call_centre.taskrouter import map_event_callback
from ingest.chat.twilio import form_fields, parse_form
from ingest.settings import IngestSettings
from schemas import InvalidEvent
from schemas.screen_pops import CALL_IN_PROGRESS, screen_pop_of
from tests.unit.ingest.test_app import RecordingPublisher

SAMPLES = Path(__file__).with_name("samples")
RECEIVED = datetime(2024, 11, 23, 10, 30, 6, tzinfo=UTC)
KEY = "pop-test-key"
TOKEN = "taskrouter-auth-token"
BEARER = {"Authorization": f"Bearer {KEY}"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def taskrouter(name: str) -> dict[str, str]:
    return form_fields(parse_form((SAMPLES / f"taskrouter_{name}.form").read_bytes()))


# --- the generic route's mapping ----------------------------------------------------------


def test_a_pop_is_the_call_in_progress_on_the_callers_timeline() -> None:
    body = {
        "agent": "desk-7",
        "caller": {"phone": "(415) 555-0132", "email": "Maria@Shop.io"},
        "contact_id": "5ca522ec-bc09-40f0-b191-cccb318dbf60",
        "platform": "amazon-connect",
        "queue": "Orders",
    }
    event = map_screen_pop(body, RECEIVED)
    # Connect's contact record for this ContactId has this id: it replaces the item.
    assert event.event_id == "amazon-connect:5ca522ec-bc09-40f0-b191-cccb318dbf60"
    assert (event.channel.value, event.kind, event.source) == (
        "call_centre",
        CALL_IN_PROGRESS,
        "screen-pop",
    )
    assert {(i.type, i.value) for i in event.identifiers} == {
        ("phone", "+14155550132"),
        ("email", "maria@shop.io"),
        ("contact_id", "5ca522ec-bc09-40f0-b191-cccb318dbf60"),
    }
    assert event.summary == "Call ringing (inbound) for agent desk-7, queue Orders"
    assert event.attributes["state"] == "ringing" and event.occurred_at == RECEIVED
    pop = screen_pop_of(event.attributes)
    assert pop is not None and pop.agent == "desk-7" and pop.rang_at == RECEIVED
    # The same call announced again for the same agent is the same pop; another agent's not.
    assert screen_pop_of(map_screen_pop(body, RECEIVED).attributes) == pop
    other = screen_pop_of(map_screen_pop({**body, "agent": "desk-8"}, RECEIVED).attributes)
    assert other is not None and other.pop_id != pop.pop_id


def test_without_a_platform_the_item_is_the_pops_own() -> None:
    event = map_screen_pop({"agent": "a", "caller": {"phone": "+442079460000"}}, RECEIVED)
    assert event.event_id.startswith("screen-pop:")
    assert [i.type for i in event.identifiers] == ["phone"]
    timed = map_screen_pop(
        {"agent": "a", "caller": {"user_id": "u-1"}, "occurred_at": "2024-11-23T10:29:00Z"},
        RECEIVED,
    )
    assert timed.occurred_at == datetime(2024, 11, 23, 10, 29, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ([], "body"),
        ({"caller": {"phone": "+14155550132"}}, "agent: is required"),
        ({"agent": "Maria Lopez", "caller": {"phone": "+14155550132"}}, "agent:"),
        ({"agent": "a"}, "caller: needs one of"),
        ({"agent": "a", "caller": {"phone": "12"}}, "caller.phone:"),
        ({"agent": "a", "caller": {"phone": "+14155550132"}, "platform": "genesys"}, "platform"),
        (
            {"agent": "a", "caller": {"phone": "+14155550132"}, "platform": "amazon-connect"},
            "contact_id",
        ),
        ({"agent": "a", "caller": {"phone": "+14155550132"}, "direction": "up"}, "direction"),
    ],
)
def test_a_bad_pop_is_refused_naming_the_field(body: Any, named: str) -> None:
    with pytest.raises(InvalidEvent, match=named):
        map_screen_pop(body, RECEIVED)


# --- Twilio TaskRouter ----------------------------------------------------------------------


def test_a_reservation_rings_then_connects_then_the_completed_task_is_the_record() -> None:
    [ringing] = map_event_callback(taskrouter("reservation_created"), RECEIVED)
    [connected] = map_event_callback(taskrouter("reservation_accepted"), RECEIVED)
    [record] = map_event_callback(taskrouter("reservation_completed"), RECEIVED)
    assert ringing.event_id == connected.event_id == record.event_id
    assert ringing.event_id == "twilio-taskrouter:WT2f95b3d1c9d8f4a0e6a1b9c7d5e3f1a2"
    # Each later event is a higher revision of the one item, which starts when the task did.
    revisions = [e.attributes["revision"] for e in (ringing, connected, record)]
    assert revisions == sorted(revisions) and len(set(revisions)) == 3
    assert ringing.occurred_at == connected.occurred_at == record.occurred_at
    assert (ringing.kind, ringing.attributes["state"]) == (CALL_IN_PROGRESS, "ringing")
    assert (connected.kind, connected.attributes["state"]) == (CALL_IN_PROGRESS, "connected")
    pop, again = screen_pop_of(ringing.attributes), screen_pop_of(connected.attributes)
    assert pop is not None and again is not None and pop.agent == "dev-agent"
    assert pop.pop_id == again.pop_id  # answering is the same pop: it shows once
    assert {(i.type, i.value) for i in ringing.identifiers} == {
        ("phone", "+14155550132"),
        ("contact_id", "CA9b7d5f3a1c8e6b4d2f0a9c7e5b3d1f8a"),
    }
    assert record.kind == "call_completed" and screen_pop_of(record.attributes) is None
    assert {k: record.attributes[k] for k in ("agent", "queue", "duration_s", "disposition")} == {
        "agent": "dev-agent",
        "queue": "Orders",
        "duration_s": 276,
        "disposition": "Call ended",
    }
    assert record.summary == "Call (inbound, 4m 36s) with agent dev-agent, queue Orders"


def test_a_canceled_task_is_an_abandoned_call_and_other_events_map_to_nothing() -> None:
    canceled = {**taskrouter("reservation_created"), "EventType": "task.canceled"}
    canceled["TaskCanceledReason"] = "hangup"
    [record] = map_event_callback(canceled, RECEIVED)
    assert record.kind == "call_abandoned" and record.attributes["disposition"] == "hangup"
    assert "agent" not in record.attributes
    assert map_event_callback(taskrouter("worker_activity_update"), RECEIVED) == []
    chat = {**taskrouter("reservation_created"), "TaskChannelUniqueName": "chat"}
    assert map_event_callback(chat, RECEIVED) == []
    browser_caller = {
        **taskrouter("reservation_created"),
        "TaskAttributes": '{"from":"client:anna","call_sid":"CA1"}',
    }
    assert map_event_callback(browser_caller, RECEIVED) == []
    # A worker name that cannot be an API key name: the call shows, nobody is popped.
    spaced = {**taskrouter("reservation_created"), "WorkerName": "Anna Smith"}
    [unpopped] = map_event_callback(spaced, RECEIVED)
    assert screen_pop_of(unpopped.attributes) is None


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"TaskAttributes": "{not json"}, "TaskAttributes"),
        ({"TaskAttributes": "[]"}, "TaskAttributes"),
        ({"TaskSid": ""}, "TaskSid"),
        ({"Timestamp": "soon", "TimestampMs": ""}, "Timestamp"),
        ({"TaskAge": "-3"}, "TaskAge"),
    ],
)
def test_a_malformed_callback_is_refused(change: dict[str, str], named: str) -> None:
    with pytest.raises(InvalidEvent, match=named):
        map_event_callback({**taskrouter("reservation_created"), **change}, RECEIVED)


# --- the routes -------------------------------------------------------------------------------


@pytest.fixture
async def client(publisher: RecordingPublisher) -> AsyncIterator[httpx.AsyncClient]:
    settings = IngestSettings(write_keys=KEY, twilio_auth_token=TOKEN)
    transport = httpx.ASGITransport(app=create_app(settings, publisher), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as c:
        yield c


async def test_the_pop_route_takes_a_write_key_and_answers_once_published(
    client: httpx.AsyncClient, publisher: RecordingPublisher
) -> None:
    body = {"agent": "desk-7", "caller": {"phone": "(415) 555-0132"}, "contact_id": "c-1"}
    r = await client.post("/call-centre/screen-pop", json=body, headers=BEARER)
    assert r.status_code == 202, r.text
    [event] = publisher.events
    assert r.json() == {
        "accepted": 1,
        "event_id": event.event_id,
        "pop_id": event.attributes["screen_pop"]["pop_id"],
    }
    assert (await client.post("/call-centre/screen-pop", json=body)).status_code == 401
    bad = await client.post("/call-centre/screen-pop", json={"agent": "x"}, headers=BEARER)
    assert bad.status_code == 400 and "caller" in bad.json()["error"]["message"]
    text = await client.post(
        "/call-centre/screen-pop", content=b"agent=x", headers={**BEARER, **FORM}
    )
    assert text.status_code == 415
    assert len(publisher.events) == 1


async def test_taskrouter_callbacks_are_verified_and_answered_204(
    client: httpx.AsyncClient, publisher: RecordingPublisher
) -> None:
    url = "http://gateway/call-centre/twilio-taskrouter"
    for name in ("reservation_created", "worker_activity_update"):
        raw = (SAMPLES / f"taskrouter_{name}.form").read_bytes()
        signature = RequestValidator(TOKEN).compute_signature(url, dict(parse_form(raw)))
        headers = {**FORM, "X-Twilio-Signature": signature}
        r = await client.post("/call-centre/twilio-taskrouter", content=raw, headers=headers)
        assert r.status_code == 204, r.text
    assert [e.kind for e in publisher.events] == [CALL_IN_PROGRESS]
    forged = urlencode({**taskrouter("reservation_created"), "WorkerName": "someone-else"})
    headers = {**FORM, "X-Twilio-Signature": signature}
    r = await client.post("/call-centre/twilio-taskrouter", content=forged, headers=headers)
    assert r.status_code == 401 and len(publisher.events) == 1
    wrong = await client.post("/call-centre/twilio-taskrouter", json={}, headers=BEARER)
    assert wrong.status_code == 415
