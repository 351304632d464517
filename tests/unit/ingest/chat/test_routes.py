"""Chat and survey routes in-process (ASGI, a recording publisher, no broker)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from twilio.request_validator import RequestValidator

from ingest.app import create_app
from ingest.chat.twilio import parse_form
from ingest.publisher import PublishError
from ingest.settings import IngestSettings
from schemas import CanonicalEvent

SAMPLES = Path(__file__).with_name("samples")
SURVEYS = Path(__file__).parent.parent / "surveys" / "samples"
KEY = "test-key"
TOKEN = "twilio-auth-token-123"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
BEARER = {"Authorization": f"Bearer {KEY}"}


class RecordingPublisher:
    def __init__(self) -> None:
        self.events: list[CanonicalEvent] = []
        self.failure: Exception | None = None

    async def publish(self, events: Sequence[CanonicalEvent]) -> None:
        if self.failure is not None:
            raise self.failure
        self.events.extend(events)

    async def ready(self, timeout_s: float = 2.0) -> bool:
        return True

    async def close(self) -> None:
        pass


def form(name: str) -> bytes:
    return (SAMPLES / f"{name}.form").read_bytes()


def signed(body: bytes, url: str, token: str = TOKEN) -> dict[str, str]:
    signature = RequestValidator(token).compute_signature(url, dict(parse_form(body)))
    return {**FORM, "X-Twilio-Signature": signature}


async def make_client(
    publisher: RecordingPublisher, **settings: Any
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(IngestSettings(write_keys=KEY, **settings), publisher)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as c:
        yield c


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
async def client(publisher: RecordingPublisher) -> AsyncIterator[httpx.AsyncClient]:
    async for c in make_client(publisher, twilio_auth_token=TOKEN):
        yield c


async def test_signed_twilio_webhook_is_published(
    client: httpx.AsyncClient, publisher: RecordingPublisher
) -> None:
    body = form("on_message_added_whatsapp")
    r = await client.post(
        "/chat/twilio", content=body, headers=signed(body, "http://gateway/chat/twilio")
    )
    assert (r.status_code, r.json()) == (200, {"success": True, "accepted": 1})
    assert [e.kind for e in publisher.events] == ["chat_message"]


async def test_query_string_is_part_of_the_signed_url(
    client: httpx.AsyncClient, publisher: RecordingPublisher
) -> None:
    body = form("on_conversation_added")
    url = "http://gateway/chat/twilio?tenant=eu"
    r = await client.post(url, content=body, headers=signed(body, url))
    assert r.status_code == 200 and len(publisher.events) == 1
    r = await client.post(url, content=body, headers=signed(body, "http://gateway/chat/twilio"))
    assert r.status_code == 401


@pytest.mark.parametrize(
    "headers",
    [
        FORM,
        {**FORM, "X-Twilio-Signature": "bm90IGl0"},
        "wrong-token",
        "tampered",
    ],
)
async def test_bad_signatures_are_refused(
    client: httpx.AsyncClient, publisher: RecordingPublisher, headers: Any
) -> None:
    body = form("on_message_added_whatsapp")
    if headers == "wrong-token":
        headers = signed(body, "http://gateway/chat/twilio", "other")
    elif headers == "tampered":
        headers = signed(body, "http://gateway/chat/twilio")
        body = body.replace(b"Leeds", b"Derby")
    r = await client.post("/chat/twilio", content=body, headers=headers)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "invalid_signature"
    assert publisher.events == []


async def test_public_base_url_is_used_for_signatures(publisher: RecordingPublisher) -> None:
    base = "https://hooks.example.com/threadline/"
    async for c in make_client(publisher, twilio_auth_token=TOKEN, twilio_webhook_base_url=base):
        body = form("on_message_added_whatsapp")
        url = "https://hooks.example.com/threadline/chat/twilio"
        assert (
            await c.post("/chat/twilio", content=body, headers=signed(body, url))
        ).status_code == 200
        internal = signed(body, "http://gateway/chat/twilio")
        assert (await c.post("/chat/twilio", content=body, headers=internal)).status_code == 401


async def test_without_a_token_twilio_is_refused_outside_dev_mode(
    publisher: RecordingPublisher,
) -> None:
    async for c in make_client(publisher):
        r = await c.post("/chat/twilio", content=form("on_message_added_whatsapp"), headers=FORM)
        assert r.status_code == 503 and r.json()["error"]["code"] == "not_configured"
    async for c in make_client(publisher, dev_mode=True):
        r = await c.post("/chat/twilio", content=form("on_message_added_whatsapp"), headers=FORM)
        assert r.status_code == 200 and len(publisher.events) == 1


async def test_pre_action_webhooks_get_an_empty_200(
    client: httpx.AsyncClient, publisher: RecordingPublisher
) -> None:
    body = form("on_message_add_pre_action")
    r = await client.post(
        "/chat/twilio", content=body, headers=signed(body, "http://gateway/chat/twilio")
    )
    assert (r.status_code, r.content) == (200, b"")
    assert publisher.events == []


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        (
            b"EventType=onMessageAdded",
            {"Content-Type": "application/json"},
            415,
            "unsupported_media_type",
        ),
        (b"A=%FF", FORM, 400, "invalid_form"),
        (b"EventType=onMessageAdded&ConversationSid=CH1", None, 400, "invalid_event"),
        (b"x=" + b"a" * 200_000, None, 413, "payload_too_large"),
    ],
)
async def test_bad_twilio_requests(
    client: httpx.AsyncClient,
    publisher: RecordingPublisher,
    body: bytes,
    headers: dict[str, str] | None,
    status: int,
    code: str,
) -> None:
    headers = headers or signed(body, "http://gateway/chat/twilio")
    r = await client.post("/chat/twilio", content=body, headers=headers)
    assert (r.status_code, r.json()["error"]["code"]) == (status, code)
    assert publisher.events == []


async def test_chat_events_with_write_key(
    client: httpx.AsyncClient, publisher: RecordingPublisher
) -> None:
    body = (SAMPLES / "widget_events_batch.json").read_bytes()
    basic = {"Authorization": "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()}
    for auth in (BEARER, basic):
        r = await client.post(
            "/chat/events", content=body, headers={**auth, "Content-Type": "application/json"}
        )
        assert (r.status_code, r.json()) == (200, {"success": True, "accepted": 4})
    assert len(publisher.events) == 8


@pytest.mark.parametrize("path", ["/chat/events", "/surveys/responses"])
@pytest.mark.parametrize(
    ("headers", "body", "status", "code"),
    [
        ({}, b"{}", 401, "unauthorized"),
        ({"Authorization": "Bearer nope"}, b"{}", 401, "unauthorized"),
        ({"Authorization": "Basic !!"}, b"{}", 401, "unauthorized"),
        (BEARER, b"{nope", 400, "invalid_json"),
        ({**BEARER, "Content-Type": "application/xml"}, b"{}", 415, "unsupported_media_type"),
        (BEARER, b'{"a": "' + b"x" * 600_000 + b'"}', 413, "payload_too_large"),
        (BEARER, b'{"type": "message"}', 400, "invalid_event"),
    ],
)
async def test_json_routes_refuse_bad_requests(
    client: httpx.AsyncClient,
    publisher: RecordingPublisher,
    path: str,
    headers: dict[str, str],
    body: bytes,
    status: int,
    code: str,
) -> None:
    headers = {"Content-Type": "application/json", **headers}
    r = await client.post(path, content=body, headers=headers)
    assert (r.status_code, r.json()["error"]["code"]) == (status, code)
    assert publisher.events == []


async def test_survey_scores_out_of_range_are_400_naming_the_field(
    client: httpx.AsyncClient, publisher: RecordingPublisher
) -> None:
    body = orjson.loads((SURVEYS / "responses_batch.json").read_bytes())
    body["responses"][2]["score"] = 11
    r = await client.post("/surveys/responses", json=body, headers=BEARER)
    assert r.status_code == 400
    assert r.json()["error"]["message"].startswith(
        "responses[2].score: CSAT scores must be 1 to 10"
    )
    assert publisher.events == []
    body["responses"][2]["score"] = 10
    r = await client.post("/surveys/responses", json=body, headers=BEARER)
    assert (r.status_code, r.json()) == (200, {"success": True, "accepted": 3})


async def test_broker_down_is_503(client: httpx.AsyncClient, publisher: RecordingPublisher) -> None:
    publisher.failure = PublishError("down")
    body = (SURVEYS / "nps.json").read_bytes()
    r = await client.post(
        "/surveys/responses", content=body, headers={**BEARER, "Content-Type": "application/json"}
    )
    assert r.status_code == 503 and r.json()["error"]["code"] == "broker_unavailable"
