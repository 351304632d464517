"""Every route refuses, with a 4xx, an input whose event the worker would refuse.

The worker refuses an event it cannot decode or store: a NUL character (PostgreSQL text
and jsonb cannot hold it), text that is not valid Unicode, an encoded event over 256 KB.
Each route is given its own vendor's payload carrying such a value where it reaches the
event; it must answer 4xx and publish nothing, so no 2xx ever ends in the dead-letter
store. The table must cover every POST route of the app.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
import pytest

from ingest.app import create_app
from ingest.chat.twilio import parse_form
from ingest.gateway import check_limits
from ingest.http import ApiError
from ingest.settings import IngestSettings
from schemas import CanonicalEvent, Identifier
from tests.support.ingest_app import json_sample
from tests.support.routes import walk
from tests.unit.ingest.test_app import RecordingPublisher

UNIT = Path(__file__).parent
KEY = "refusal-key"
BASIC = {"Authorization": "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()}
NUL = "\u0000"
JSON = {**BASIC, "Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def with_value(value: str, data: dict[str, Any], *path: Any) -> dict[str, Any]:
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = f"bad{value}text"
    return data


def json_post(path: str, body: Any) -> tuple[str, dict[str, Any]]:
    return path, {"content": orjson.dumps(body), "headers": JSON}


def browser_post(path: str, body: Any) -> tuple[str, dict[str, Any]]:
    return path, {"content": orjson.dumps(body), "headers": {"Content-Type": "text/plain"}}


def segment(kind: str, **fields: Any) -> dict[str, Any]:
    return {"userId": "u-1", "messageId": f"m-{kind}", "writeKey": KEY, **fields}


CONNECT = json_sample("call_centre/samples/connect_voice_inbound.json")
TASKROUTER = dict(
    parse_form((UNIT / "call_centre/samples/taskrouter_reservation_created.form").read_bytes())
)


def mail(value: str) -> str:
    return (
        "From: Maria <maria@shopper-mail.io>\r\nTo: help@threadline-shop.com\r\n"
        f"Subject: bad{value}subject\r\nMessage-ID: <nul-1@shopper-mail.io>\r\n\r\nhello\r\n"
    )


CASES: dict[str, Callable[[str], tuple[str, dict[str, Any]]]] = {
    "/v1/batch": lambda v: json_post(
        "/v1/batch", {"batch": [segment("t", type="track", event=f"Clicked{v}")]}
    ),
    "/v1/track": lambda v: json_post("/v1/track", segment("t", event=f"Clicked{v}")),
    "/v1/identify": lambda v: json_post("/v1/identify", segment("i", traits={"plan": f"x{v}"})),
    "/v1/page": lambda v: json_post("/v1/page", segment("p", name=f"Home{v}")),
    "/v1/screen": lambda v: json_post("/v1/screen", segment("s", name=f"Home{v}")),
    "/v1/group": lambda v: json_post(
        "/v1/group", segment("g", groupId="g1", traits={"name": f"x{v}"})
    ),
    "/v1/alias": lambda v: json_post(
        "/v1/alias", segment("a", previousId="anon-1", context={"locale": f"x{v}"})
    ),
    # What analytics.js sends from a browser: text/plain, the key in the body.
    **{
        f"/v1/{letter}": (
            lambda v, letter=letter, fields=fields: browser_post(
                f"/v1/{letter}", segment(letter, **fields(v))
            )
        )
        for letter, fields in {
            "t": lambda v: {"event": f"Clicked{v}"},
            "p": lambda v: {"name": f"Home{v}"},
            "i": lambda v: {"traits": {"plan": f"x{v}"}},
            "s": lambda v: {"name": f"Home{v}"},
            "g": lambda v: {"groupId": "g1", "traits": {"name": f"x{v}"}},
            "a": lambda v: {"previousId": "anon-1", "context": {"locale": f"x{v}"}},
        }.items()
    },
    "/v1/b": lambda v: browser_post(
        "/v1/b", {"writeKey": KEY, "batch": [segment("t", type="track", event=f"Clicked{v}")]}
    ),
    "/beacon/v1/batch": lambda v: browser_post(
        f"/beacon/v1/batch?writeKey={KEY}",
        {"batch": [segment("t", type="track", event=f"Clicked{v}")]},
    ),
    "/chat/twilio": lambda v: (
        "/chat/twilio",
        {
            "content": urlencode(
                {
                    "MessageSid": "SM" + "a" * 32,
                    "From": "+14155550132",
                    "To": "+14155550100",
                    "Body": f"x{v}",
                }
            ),
            "headers": FORM,
        },
    ),
    "/chat/events": lambda v: json_post(
        "/chat/events", with_value(v, json_sample("chat/samples/widget_message.json"), "text")
    ),
    "/email/inbound": lambda v: (
        "/email/inbound",
        {"content": mail(v).encode(), "headers": {**BASIC, "Content-Type": "message/rfc822"}},
    ),
    "/email/sendgrid": lambda v: (
        "/email/sendgrid",
        {"data": {"email": mail(v)}, "headers": BASIC},
    ),
    "/email/mailgun": lambda v: ("/email/mailgun", {"data": {"body-mime": mail(v)}}),
    "/email/postmark": lambda v: json_post(
        "/email/postmark",
        with_value(v, json_sample("email/samples/postmark_inbound.json"), "Subject"),
    ),
    "/call-centre/amazon-connect": lambda v: json_post(
        "/call-centre/amazon-connect", with_value(v, CONNECT, "Queue", "Name")
    ),
    "/call-centre/screen-pop": lambda v: json_post(
        "/call-centre/screen-pop",
        {"agent": "desk-7", "caller": {"phone": "+14155550132"}, "queue": f"Orders{v}"},
    ),
    "/call-centre/twilio-taskrouter": lambda v: (
        "/call-centre/twilio-taskrouter",
        {
            "content": urlencode({**TASKROUTER, "TaskQueueName": f"Orders{v}"}),
            "headers": FORM,
        },
    ),
    "/call-centre/asterisk-cdr": lambda v: (
        "/call-centre/asterisk-cdr",
        {
            "content": (UNIT / "call_centre/samples/asterisk_master.csv")
            .read_text()
            .replace("ANSWERED", f"ANSWERED{v}", 1)
            .encode(),
            "headers": {**BASIC, "Content-Type": "text/csv"},
        },
    ),
    "/store/shopify": lambda v: (
        "/store/shopify",
        {
            "content": orjson.dumps(
                with_value(v, json_sample("store/samples/shopify_refunds_create.json"), "note")
            ),
            "headers": {**JSON, "X-Shopify-Topic": "refunds/create"},
        },
    ),
    "/store/shopify/orders": lambda v: json_post(
        "/store/shopify/orders",
        with_value(v, json_sample("store/samples/shopify_orders_create.json"), "cancel_reason"),
    ),
    "/store/receipts": lambda v: json_post(
        "/store/receipts", with_value(v, json_sample("store/samples/receipt_sale.json"), "cashier")
    ),
    "/surveys/responses": lambda v: json_post(
        "/surveys/responses", with_value(v, json_sample("surveys/samples/nps.json"), "comment")
    ),
    "/surveys/delighted": lambda v: json_post(
        "/surveys/delighted",
        with_value(
            v,
            json_sample("surveys/samples/delighted_survey_response_updated.json"),
            "event_data",
            "comment",
        ),
    ),
    "/surveys/typeform": lambda v: json_post(
        "/surveys/typeform",
        with_value(
            v,
            json_sample("surveys/samples/typeform_form_response.json"),
            "form_response",
            "answers",
            0,
            "text",
        ),
    ),
}


async def test_every_route_refuses_what_the_worker_would_refuse() -> None:
    publisher = RecordingPublisher()
    settings = IngestSettings(
        dev_mode=True, write_keys=KEY, company_domains="threadline-shop.com", default_region="GB"
    )
    app = create_app(settings, publisher)  # type: ignore[arg-type]
    posts = {r.path for r in walk(app.routes) if "POST" in (getattr(r, "methods", None) or ())}
    assert posts == set(CASES), sorted(posts ^ set(CASES))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        for route, make in sorted(CASES.items()):
            path, request = make(NUL)
            r = await client.post(path, **request)
            assert 400 <= r.status_code < 500, (route, r.status_code, r.text[:300])
            assert r.json()["error"]["code"] in ("invalid_event", "payload_too_large"), route
        assert publisher.events == [] and publisher.dead == []
        # The same payloads without the NUL are accepted: the NUL is what was refused.
        for route, make in sorted(CASES.items()):
            path, request = make("")
            r = await client.post(path, **request)
            assert 200 <= r.status_code < 300, (route, r.status_code, r.text[:300])
    assert len(publisher.events) >= len(CASES)


def test_the_last_check_refuses_oversized_and_unencodable_events() -> None:
    def event(**attributes: Any) -> CanonicalEvent:
        return CanonicalEvent(
            event_id="t:1",
            channel="web",
            kind="tracked",
            occurred_at=datetime.now(UTC),
            received_at=datetime.now(UTC),
            source="test",
            identifiers=(Identifier(type="user_id", value="u"),),
            summary="s",
            attributes=attributes,
        )

    check_limits([event(note="x" * 200_000)])
    with pytest.raises(ApiError) as too_big:
        check_limits([event(note="x" * 300_000)])
    assert too_big.value.status == 413 and "256 KB limit of one event" in too_big.value.message
    with pytest.raises(ApiError) as unencodable:
        check_limits([event(note="\ud800")])
    assert unencodable.value.status == 400 and "not valid Unicode" in unencodable.value.message
