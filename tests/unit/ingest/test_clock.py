"""Every route that takes a source time never stores one that cannot be true.

A time far ahead of the time of receipt (a track dated 9999 would be the customer's
`last_seen` for good; a chat dated 9999 would wait "since 9999") or before 2000 (a reset clock,
a default value): Threadline's own formats refuse it, naming the field; a clock nobody can
correct (a browser, a vendor, a mail server) is replaced by the time of receipt, the given
time kept in `attributes.clock_corrected`. Segment's routes first remove the sender's clock
skew with `sentAt`. One payload per mapping that reads a source time.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import pytest

from ingest.app import create_app
from ingest.keys import DEV_BROWSER_KEY
from ingest.settings import IngestSettings
from tests.support.ingest_app import UNIT_INGEST, json_sample
from tests.unit.ingest.test_app import RecordingPublisher

KEY = "clock-key"
BASIC = {"Authorization": "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()}
JSON = {**BASIC, "Content-Type": "application/json"}
FUTURE, PAST = datetime(9999, 12, 31, tzinfo=UTC), datetime(1970, 1, 1, tzinfo=UTC)
Request = tuple[str, dict[str, Any]]


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def replaced(data: Any, names: set[str], value: Any) -> Any:
    """`data` with every key in `names`, at any depth, set to `value`."""
    if isinstance(data, dict):
        return {k: value if k in names else replaced(v, names, value) for k, v in data.items()}
    if isinstance(data, list):
        return [replaced(v, names, value) for v in data]
    return data


def json_post(path: str, body: Any, headers: dict[str, str] = JSON) -> Request:
    return path, {"content": orjson.dumps(body), "headers": headers}


def sample(path: str, names: set[str], value: Any, route: str, **headers: str) -> Request:
    return json_post(route, replaced(json_sample(path), names, value), {**JSON, **headers})


def mail(at: datetime) -> bytes:
    date = at.strftime("%a, %d %b %Y %H:%M:%S +0000")
    return (
        "From: Maria <maria@shopper-mail.io>\r\nTo: help@threadline-shop.com\r\n"
        f"Date: {date}\r\nSubject: Collection\r\nMessage-ID: <clock-1@shopper-mail.io>\r\n\r\n"
        "When can I collect?\r\n"
    ).encode()


def asterisk(at: datetime) -> bytes:
    text = (UNIT_INGEST / "call_centre/samples/asterisk_master.csv").read_text()
    stamp = at.strftime("%Y-%m-%d %H:%M:%S")
    return re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", stamp, text).encode()


def twilio(at: datetime) -> bytes:
    form = (UNIT_INGEST / "chat/samples/on_message_added_whatsapp.form").read_text().strip()
    return re.sub(r"DateCreated=[^&]*", f"DateCreated={quote(iso(at))}", form).encode()


def segment(at: datetime, **fields: Any) -> dict[str, Any]:
    return {"userId": "u-1", "anonymousId": "d-1", "timestamp": iso(at), **fields}


#: Routes that replace an implausible time by the time of receipt.
CORRECTED: dict[str, Callable[[datetime], Request]] = {
    "/v1/track": lambda at: json_post("/v1/track", segment(at, event="Viewed")),
    "/v1/batch": lambda at: json_post(
        "/v1/batch", {"batch": [segment(at, type="page", messageId="c-1")]}
    ),
    "/v1/t (browser)": lambda at: (
        "/v1/t",
        {
            "content": orjson.dumps(segment(at, event="Viewed", writeKey=DEV_BROWSER_KEY)),
            "headers": {"Content-Type": "text/plain"},
        },
    ),
    "/chat/twilio": lambda at: (
        "/chat/twilio",
        {"content": twilio(at), "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
    ),
    "/email/inbound": lambda at: (
        "/email/inbound",
        {"content": mail(at), "headers": {**BASIC, "Content-Type": "message/rfc822"}},
    ),
    "/email/postmark": lambda at: sample(
        "email/samples/postmark_inbound.json",
        {"Date"},
        at.strftime("%a, %d %b %Y %H:%M:%S +0000"),
        "/email/postmark",
    ),
    "/call-centre/amazon-connect": lambda at: sample(
        "call_centre/samples/connect_voice_inbound.json",
        {"InitiationTimestamp", "ConnectedToSystemTimestamp"},
        iso(at),
        "/call-centre/amazon-connect",
    ),
    "/call-centre/asterisk-cdr": lambda at: (
        "/call-centre/asterisk-cdr",
        {"content": asterisk(at), "headers": {**BASIC, "Content-Type": "text/csv"}},
    ),
    "/store/shopify/orders": lambda at: sample(
        "store/samples/shopify_orders_create.json", {"created_at"}, iso(at), "/store/shopify/orders"
    ),
    "/surveys/delighted": lambda at: sample(
        "surveys/samples/delighted_survey_response_updated.json",
        {"created_at", "updated_at"},
        int(at.timestamp()),
        "/surveys/delighted",
    ),
    "/surveys/typeform": lambda at: sample(
        "surveys/samples/typeform_form_response.json",
        {"submitted_at", "landed_at"},
        iso(at),
        "/surveys/typeform",
    ),
}
#: Threadline's own formats: the sender sets the time and can fix it.
REFUSED: dict[str, tuple[Callable[[datetime], Request], str]] = {
    "/chat/events": (
        lambda at: sample(
            "chat/samples/widget_message.json", {"occurred_at"}, iso(at), "/chat/events"
        ),
        "occurred_at",
    ),
    "/store/receipts": (
        lambda at: sample(
            "store/samples/receipt_sale.json", {"occurred_at"}, iso(at), "/store/receipts"
        ),
        "occurred_at",
    ),
    "/surveys/responses": (
        lambda at: sample(
            "surveys/samples/nps.json", {"responded_at"}, iso(at), "/surveys/responses"
        ),
        "responded_at",
    ),
}


@pytest.fixture
def client_for(publisher: RecordingPublisher) -> Callable[[], httpx.AsyncClient]:
    settings = IngestSettings(
        dev_mode=True, write_keys=KEY, company_domains="threadline-shop.com", default_region="GB"
    )
    app = create_app(settings, publisher)  # type: ignore[arg-type]

    def make() -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        return httpx.AsyncClient(transport=transport, base_url="http://gw")

    return make


@pytest.mark.parametrize("given", [FUTURE, PAST], ids=["year-9999", "year-1970"])
@pytest.mark.parametrize("route", sorted([*CORRECTED, *REFUSED]))
async def test_no_route_stores_a_time_that_cannot_be_true(
    client_for: Callable[[], httpx.AsyncClient],
    publisher: RecordingPublisher,
    route: str,
    given: datetime,
) -> None:
    refused = REFUSED.get(route)
    path, request = refused[0](given) if refused else CORRECTED[route](given)
    async with client_for() as client:
        r = await client.post(path, **request)
    if refused is not None:
        # Threadline's own formats: refused, naming the field; nothing published.
        assert r.status_code == 400, (route, r.text)
        message = r.json()["error"]["message"]
        assert refused[1] in message
        assert "after the time of receipt" in message or "before 2000" in message
        assert publisher.events == []
        return
    # A clock nobody can correct: the time of receipt, the given time noted.
    assert 200 <= r.status_code < 300, (route, r.status_code, r.text[:300])
    assert publisher.events, route
    for event in publisher.events:
        assert event.occurred_at == event.received_at, route
        note = event.attributes["clock_corrected"]
        assert note["given"].startswith(str(given.year)), (route, note)
        assert note["reason"] == ("ahead_of_receipt" if given == FUTURE else "before_earliest")
        revision = event.attributes.get("revision")
        assert revision is None or revision[:4] != "9999", route


async def test_segments_rule_removes_the_senders_clock_skew(
    client_for: Callable[[], httpx.AsyncClient], publisher: RecordingPublisher
) -> None:
    # A phone whose clock is 3 hours behind: it tracked 30 s before it sent.
    behind = datetime.now(UTC) - timedelta(hours=3)
    sent, tracked = behind, behind - timedelta(seconds=30)
    body = segment(tracked, event="Viewed", sentAt=iso(sent), writeKey=DEV_BROWSER_KEY)
    async with client_for() as client:
        r = await client.post("/v1/t", content=orjson.dumps(body))
    assert r.status_code == 200
    [event] = publisher.events
    assert event.occurred_at == event.received_at - timedelta(seconds=30)
    assert "clock_corrected" not in event.attributes
    # Far ahead too: sentAt and timestamp agree, so it happened when received.
    body = segment(FUTURE, event="x", sentAt=iso(FUTURE), messageId="m2", writeKey=DEV_BROWSER_KEY)
    async with client_for() as client:
        assert (await client.post("/v1/t", content=orjson.dumps(body))).status_code == 200
    assert publisher.events[1].occurred_at == publisher.events[1].received_at
