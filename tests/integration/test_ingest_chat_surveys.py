"""Chat and survey routes against the real embedded broker: acknowledged means on the topic."""

from __future__ import annotations

import random
import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import orjson
import pytest
from kafka import KafkaConsumer
from twilio.request_validator import RequestValidator

from ingest.settings import IngestSettings
from schemas.events import CanonicalEvent, decode_event
from services.embedded import free_port
from tests.support.gateway import end_offsets, interactions_consumer, read_since, running_gateway

pytestmark = pytest.mark.integration

UNIT = Path(__file__).resolve().parent.parent / "unit" / "ingest"
KEY = "integration-chat-key"
TOKEN = "integration-twilio-token"
BEARER = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def gateway_url(kafka_bootstrap: str) -> Iterator[str]:
    """A real uvicorn gateway on a free loopback port, publishing to the embedded broker."""
    settings = IngestSettings(
        port=free_port(),
        kafka_bootstrap=kafka_bootstrap,
        write_keys=KEY,
        twilio_auth_token=TOKEN,
        company_domains="threadline-shop.com",
        publish_timeout_s=10,
    )
    with running_gateway(settings) as url:
        yield url


@pytest.fixture(scope="module")
def consumer(kafka_bootstrap: str) -> Iterator[KafkaConsumer]:
    with interactions_consumer(kafka_bootstrap) as c:
        yield c


def twilio_form(name: str, **changes: str) -> dict[str, str]:
    fields = dict(parse_qsl((UNIT / "chat" / "samples" / f"{name}.form").read_text()))
    fields.update(changes)
    return fields


def post_twilio(gateway_url: str, fields: dict[str, str], token: str = TOKEN) -> httpx.Response:
    url = f"{gateway_url}/chat/twilio"
    signature = RequestValidator(token).compute_signature(url, fields)
    return httpx.post(
        url,
        content=urlencode(fields),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
        timeout=15,
    )


def fresh_ids() -> tuple[str, str, str]:
    """A new conversation sid, message sid and UK mobile number (the topic is shared)."""
    phone = f"+4477009{random.randint(10000, 99999)}"
    return f"CH{secrets.token_hex(16)}", f"IM{secrets.token_hex(16)}", phone


def events_of(records: list[Any]) -> list[CanonicalEvent]:
    events = []
    for record in records:
        event = decode_event(record.value)
        assert record.value == event.to_json() and record.key == event.kafka_key()
        headers = dict(record.headers)
        assert headers["ce_id"] == event.event_id.encode()
        assert headers["ce_type"] == f"dev.threadline.{event.channel.value}.{event.kind}".encode()
        events.append(event)
    return events


def test_twilio_conversation_reaches_the_topic(gateway_url: str, consumer: KafkaConsumer) -> None:
    ch, im, phone = fresh_ids()
    agent_im = f"IM{secrets.token_hex(16)}"
    start = end_offsets(consumer)
    steps = [
        twilio_form(
            "on_conversation_added",
            ConversationSid=ch,
            **{"MessagingBinding.Address": f"whatsapp:{phone}"},
        ),
        twilio_form(
            "on_message_added_whatsapp",
            ConversationSid=ch,
            MessageSid=im,
            Author=f"whatsapp:{phone}",
        ),
        twilio_form("on_message_added_agent", ConversationSid=ch, MessageSid=agent_im),
        twilio_form("on_conversation_state_updated_closed", ConversationSid=ch),
    ]
    for fields in steps:
        r = post_twilio(gateway_url, fields)
        assert (r.status_code, r.json()) == (200, {"success": True, "accepted": 1})
    # Twilio retries a webhook it thinks failed: same message, same event id.
    assert post_twilio(gateway_url, {**steps[1], "RetryCount": "1"}).status_code == 200
    keys = {f"phone:{phone}".encode(), f"conversation_id:{ch}".encode()}
    events = events_of(read_since(consumer, start, keys, 5))
    by_kind = sorted((e.kind, e.primary_identifier.type) for e in events)
    assert by_kind == [
        ("chat_ended", "conversation_id"),
        ("chat_message", "conversation_id"),  # the agent: joins through the conversation
        ("chat_message", "phone"),
        ("chat_message", "phone"),
        ("chat_started", "phone"),
    ]
    customer = [
        e for e in events if e.kind == "chat_message" and e.primary_identifier.type == "phone"
    ]
    assert {e.event_id for e in customer} == {f"twilio-conversations:{im}"}
    assert all(e.source == "twilio-conversations" for e in events)


def test_refused_twilio_webhooks_publish_nothing(gateway_url: str, consumer: KafkaConsumer) -> None:
    ch, im, phone = fresh_ids()
    fields = twilio_form(
        "on_message_added_whatsapp", ConversationSid=ch, MessageSid=im, Author=f"whatsapp:{phone}"
    )
    before = end_offsets(consumer)
    r = post_twilio(gateway_url, fields, token="not-the-token")
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_signature"
    r = post_twilio(gateway_url, {**fields, "DateCreated": "tomorrow"})
    assert r.status_code == 400 and r.json()["error"]["message"].startswith("DateCreated:")
    r = post_twilio(gateway_url, twilio_form("on_message_add_pre_action", ConversationSid=ch))
    assert (r.status_code, r.content) == (200, b"")
    time.sleep(0.3)
    assert end_offsets(consumer) == before


def test_widget_chat_events_reach_the_topic(gateway_url: str, consumer: KafkaConsumer) -> None:
    body = orjson.loads((UNIT / "chat" / "samples" / "widget_events_batch.json").read_bytes())
    conversation, device = f"conv-{uuid.uuid4()}", str(uuid.uuid4())
    for event in body["events"]:
        event["conversation_id"] = conversation
        event.pop("customer", None)
    body["events"][0]["customer"] = {"anonymous_id": device}
    start = end_offsets(consumer)
    r = httpx.post(f"{gateway_url}/chat/events", json=body, headers=BEARER, timeout=15)
    assert (r.status_code, r.json()) == (200, {"success": True, "accepted": 4})
    keys = {f"anonymous_id:{device}".encode(), f"conversation_id:{conversation}".encode()}
    events = events_of(read_since(consumer, start, keys, 4))
    assert sorted(e.kind for e in events) == [
        "chat_ended",
        "chat_message",
        "chat_message",
        "chat_started",
    ]
    assert {e.source for e in events} == {"web-chat"}


def test_survey_responses_reach_the_topic(gateway_url: str, consumer: KafkaConsumer) -> None:
    body = orjson.loads((UNIT / "surveys" / "samples" / "responses_batch.json").read_bytes())
    user = f"cust-{uuid.uuid4()}"
    for response in body["responses"]:
        response["response_id"] = f"resp-{uuid.uuid4()}"
        response["respondent"] = {"user_id": user}
    start = end_offsets(consumer)
    r = httpx.post(f"{gateway_url}/surveys/responses", json=body, headers=BEARER, timeout=15)
    assert (r.status_code, r.json()) == (200, {"success": True, "accepted": 3})
    events = events_of(read_since(consumer, start, {f"user_id:{user}".encode()}, 3))
    assert {e.event_id for e in events} == {f"survey:{x['response_id']}" for x in body["responses"]}
    csat = next(e for e in events if e.attributes["survey_id"] == "post-chat-csat")
    assert (csat.channel, csat.kind, csat.source) == ("survey", "survey_response", "survey")
    assert {k: csat.attributes[k] for k in ("metric", "score", "scale_max", "related_channel")} == {
        "metric": "csat",
        "score": 4,
        "scale_max": 5,
        "related_channel": "chat",
    }


def test_out_of_range_survey_batch_publishes_nothing(
    gateway_url: str, consumer: KafkaConsumer
) -> None:
    body = orjson.loads((UNIT / "surveys" / "samples" / "responses_batch.json").read_bytes())
    body["responses"][1]["score"] = 0
    before = end_offsets(consumer)
    r = httpx.post(f"{gateway_url}/surveys/responses", json=body, headers=BEARER, timeout=15)
    assert r.status_code == 400
    assert r.json()["error"]["message"].startswith("responses[1].score: CES scores must be 1 to 7")
    time.sleep(0.3)
    assert end_offsets(consumer) == before
