"""The vendor routes in-process: each signature scheme, dev mode, unset secrets, answers.

Signatures are made as each vendor documents them (see test_signatures); Twilio's with the
`twilio` package's own `RequestValidator`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import orjson
import pytest
from twilio.request_validator import RequestValidator

from tests.support.ingest_app import Factory, gateway_factory
from tests.unit.ingest.test_app import RecordingPublisher

UNIT = Path(__file__).parent
KEY = "vendor-test-key"
SECRET = "vendor-secret"
DELIGHTED = (UNIT / "surveys/samples/delighted_survey_response_updated.json").read_bytes()
TYPEFORM = (UNIT / "surveys/samples/typeform_form_response.json").read_bytes()
POSTMARK = (UNIT / "email/samples/postmark_inbound.json").read_bytes()
PLAIN = (UNIT / "email/samples/plain.eml").read_bytes()
CONNECT = (UNIT / "call_centre/samples/connect_voice_inbound.json").read_bytes()
BASIC = {"Authorization": "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()}
SMS = {
    "MessageSid": "SM" + "a1" * 16,
    "AccountSid": "AC" + "b2" * 16,
    "From": "+14155550132",
    "To": "+14155550100",
    "Body": "Is my order ready?",
    "NumMedia": "0",
    "SmsStatus": "received",
}


@pytest.fixture
def gateway(publisher: RecordingPublisher) -> Factory:
    return gateway_factory(publisher, write_keys=KEY)


def hmac_sha256(body: bytes, secret: str = SECRET) -> bytes:
    return hmac.new(secret.encode(), body, hashlib.sha256).digest()


def signed_json(route: str, body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac_sha256(body, secret)
    header = {
        "/surveys/delighted": ("X-Delighted-Webhook-Signature", "sha256=" + digest.hex()),
        "/surveys/typeform": ("Typeform-Signature", "sha256=" + base64.b64encode(digest).decode()),
    }[route]
    return {"Content-Type": "application/json", header[0]: header[1]}


def error_of(r: httpx.Response) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


@pytest.mark.parametrize(
    ("route", "body", "setting"),
    [
        ("/surveys/delighted", DELIGHTED, "delighted_webhook_secret"),
        ("/surveys/typeform", TYPEFORM, "typeform_webhook_secret"),
    ],
)
async def test_survey_tools_signatures(
    gateway: Factory, publisher: RecordingPublisher, route: str, body: bytes, setting: str
) -> None:
    async with gateway(**{setting: SECRET}) as client:
        r = await client.post(route, content=body, headers=signed_json(route, body))
        assert (r.status_code, r.json()) == (200, {"success": True, "accepted": 1})
        wrong = signed_json(route, body, "another-secret")
        assert error_of(await client.post(route, content=body, headers=wrong)) == (
            401,
            "invalid_signature",
        )
        unsigned = {"Content-Type": "application/json"}
        r = await client.post(route, content=body, headers=unsigned)
        assert error_of(r) == (401, "invalid_signature")
    async with gateway() as client:  # no secret outside dev mode: refused, never trusted
        r = await client.post(route, content=body, headers=unsigned)
        assert error_of(r) == (503, "not_configured")
    async with gateway(dev_mode=True) as client:
        assert (await client.post(route, content=body, headers=unsigned)).status_code == 200
    assert len(publisher.events) == 2


async def test_twilio_messaging_signed_by_the_sdk(
    gateway: Factory, publisher: RecordingPublisher
) -> None:
    url = "http://gw/chat/twilio"
    signature = RequestValidator(SECRET).compute_signature(url, SMS)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature,
    }
    async with gateway(twilio_auth_token=SECRET) as client:
        r = await client.post("/chat/twilio", content=urlencode(SMS), headers=headers)
        assert (r.status_code, r.json()) == (200, {"success": True, "accepted": 1})
        tampered = urlencode({**SMS, "Body": "changed"})
        r = await client.post("/chat/twilio", content=tampered, headers=headers)
        assert error_of(r) == (401, "invalid_signature")
    [event] = publisher.events
    assert (event.source, event.kind) == ("twilio-messaging", "chat_message")
    assert event.summary == "SMS (customer): Is my order ready?"


async def test_mailgun_signature_and_the_unsigned_providers(
    gateway: Factory, publisher: RecordingPublisher
) -> None:
    timestamp, token = str(int(time.time())), "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"
    signature = hmac_sha256((timestamp + token).encode()).hex()
    fields = {"timestamp": timestamp, "token": token, "body-mime": PLAIN.decode()}
    async with gateway(mailgun_webhook_signing_key=SECRET, company_domains="shop.io") as client:
        r = await client.post("/email/mailgun", data={**fields, "signature": signature})
        assert r.status_code == 200 and r.json()["accepted"] == 1
        r = await client.post("/email/mailgun", data={**fields, "signature": "0" * 64})
        assert error_of(r) == (401, "invalid_signature")
        # SendGrid and Postmark do not sign inbound mail: the write key is the Basic user.
        r = await client.post("/email/sendgrid", data={"email": PLAIN.decode()})
        assert error_of(r) == (401, "unauthorized")
        r = await client.post(
            "/email/sendgrid",
            files={"email": (None, PLAIN), "attachment1": ("a.pdf", b"%PDF-1.4")},
            headers=BASIC,
        )
        assert r.status_code == 200
        headers = {**BASIC, "Content-Type": "application/json"}
        r = await client.post("/email/postmark", content=POSTMARK, headers=headers)
        assert r.status_code == 200
        r = await client.post(
            "/email/sendgrid", content=b"x", headers={**BASIC, "Content-Type": "text/html"}
        )
        assert error_of(r) == (415, "unsupported_media_type")
    assert {e.source for e in publisher.events} == {"mailgun", "sendgrid", "postmark"}
    # The same mail by Mailgun and SendGrid: the same event.
    mailgun, sendgrid = publisher.events[0], publisher.events[1]
    assert mailgun.event_id == sendgrid.event_id == "smtp:CAB7x9QK2mPz1@mail.example.org"


async def test_firehose_delivery_accepts_good_records_and_dead_letters_bad_ones(
    gateway: Factory, publisher: RecordingPublisher
) -> None:
    good = base64.b64encode(CONNECT).decode()
    no_contact = orjson.dumps({"Channel": "VOICE", "InitiationTimestamp": "2024-11-23T10:30:00Z"})
    delivery = {
        "requestId": "ed4acda5-034f-9f42-bba1-f29aea6d7d8f",
        "timestamp": 1578090901599,
        "records": [
            {"data": good},
            {"data": base64.b64encode(no_contact).decode()},
            {"data": "%%"},
        ],
    }
    headers = {
        "Content-Type": "application/json",
        "X-Amz-Firehose-Request-Id": delivery["requestId"],
        "X-Amz-Firehose-Access-Key": KEY,
        "X-Amz-Firehose-Protocol-Version": "1.0",
    }
    async with gateway() as client:
        r = await client.post("/call-centre/amazon-connect", json=delivery, headers=headers)
        assert r.status_code == 200
        assert set(r.json()) == {"requestId", "timestamp"}
        assert r.json()["requestId"] == delivery["requestId"]
        refused = await client.post(
            "/call-centre/amazon-connect",
            json=delivery,
            headers={**headers, "X-Amz-Firehose-Access-Key": "wrong"},
        )
        assert refused.status_code == 401
        assert set(refused.json()) == {"requestId", "timestamp", "errorMessage"}
    assert len(publisher.events) == 1
    assert [d.component for d in publisher.dead] == ["ingest.amazon-connect"] * 2
    assert publisher.dead[0].original == no_contact
    assert publisher.dead[0].failure.type == "invalid_event"
    assert publisher.dead[0].failure.message.startswith("records[1].ContactId: is required")
    assert publisher.dead[1].original == b"%%" and "base64" in publisher.dead[1].failure.message


async def test_openapi_lists_every_route_with_an_example_and_the_invalid_input_status(
    gateway: Factory,
) -> None:
    async with gateway() as client:
        doc = (await client.get("/openapi.json")).json()
    posts = {path: ops["post"] for path, ops in doc["paths"].items() if "post" in ops}
    assert {
        "/chat/twilio",
        "/surveys/delighted",
        "/surveys/typeform",
        "/email/sendgrid",
        "/email/mailgun",
        "/email/postmark",
        "/store/shopify",
        "/store/shopify/orders",
        "/call-centre/amazon-connect",
    } <= set(posts)
    for path, op in posts.items():
        content = op["requestBody"]["content"]
        assert any("example" in media for media in content.values()), path
        assert "400" in op["responses"] and "422" not in op["responses"], path
        assert "Invalid input" in op["responses"]["400"]["description"], path
    assert "400" in doc["info"]["description"]
