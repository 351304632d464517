"""The vendors' webhooks through the real stack: gateway (uvicorn), embedded broker, worker
process, PostgreSQL, API. One message per new route lands on its customer's timeline with
the summary an agent reads; names from three sources survive by priority and are
searchable; an order number finds its order as an agent types it, per shop; a bad Firehose
record reaches the dead-letter store and `threadline deadletter list`; a 10,000-recipient
mail is stored, not dead-lettered for size.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import random
import string
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
import pytest
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from api.app import create_app as create_api
from profile_store.storage.engines import make_sync_engine
from profile_store.storage.tables import dead_letters
from services.cli import main
from tests.support.api import AGENT, api_settings, running_api
from tests.support.gateway import gateway_on
from tests.support.ingest_app import json_sample
from tests.support.worker import Workers, wait_for

pytestmark = pytest.mark.integration

UNIT = Path(__file__).resolve().parent.parent / "unit" / "ingest"
KEY = "journeys-write-key"
SECRET = "journeys-vendor-secret"
BASIC = {"Authorization": "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()}
AGENT_AUTH = {"Authorization": f"Bearer {AGENT}"}


def letters(n: int = 8) -> str:
    return "".join(random.choices(string.ascii_lowercase, k=n))


@pytest.fixture(scope="module")
def gateway(kafka_bootstrap: str) -> Iterator[str]:
    secrets = (
        "twilio_auth_token",
        "shopify_webhook_secret",
        "delighted_webhook_secret",
        "typeform_webhook_secret",
        "mailgun_webhook_signing_key",
    )
    with gateway_on(
        kafka_bootstrap,
        write_keys=KEY,
        company_domains="threadline-shop.com",
        **dict.fromkeys(secrets, SECRET),
    ) as url:
        yield url


@pytest.fixture
def api(clean_db: str) -> Iterator[str]:
    with running_api(create_api(api_settings(clean_db))) as url:
        yield url


def digest(body: bytes) -> bytes:
    return hmac.new(SECRET.encode(), body, hashlib.sha256).digest()


class Sender:
    """Posts each vendor's payload the way the vendor signs it."""

    def __init__(self, base: str) -> None:
        self.base = base

    def twilio(self, fields: dict[str, str]) -> httpx.Response:
        url = f"{self.base}/chat/twilio"
        signature = RequestValidator(SECRET).compute_signature(url, fields)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        }
        return httpx.post(url, content=urlencode(fields), headers=headers, timeout=15)

    def delighted(self, body: Any) -> httpx.Response:
        raw = orjson.dumps(body)
        headers = {
            "Content-Type": "application/json",
            "X-Delighted-Webhook-Signature": "sha256=" + digest(raw).hex(),
        }
        return httpx.post(f"{self.base}/surveys/delighted", content=raw, headers=headers)

    def typeform(self, body: Any) -> httpx.Response:
        raw = orjson.dumps(body)
        signature = "sha256=" + base64.b64encode(digest(raw)).decode()
        headers = {"Content-Type": "application/json", "Typeform-Signature": signature}
        return httpx.post(f"{self.base}/surveys/typeform", content=raw, headers=headers)

    def shopify(self, topic: str, body: Any, shop: str) -> httpx.Response:
        raw = orjson.dumps(body)
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": base64.b64encode(digest(raw)).decode(),
            "X-Shopify-Shop-Domain": shop,
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        }
        return httpx.post(f"{self.base}/store/shopify", content=raw, headers=headers, timeout=15)

    def mailgun(self, fields: dict[str, str]) -> httpx.Response:
        timestamp, token = str(int(time.time())), letters(50)
        signature = hmac.new(SECRET.encode(), (timestamp + token).encode(), hashlib.sha256)
        data = {
            **fields,
            "timestamp": timestamp,
            "token": token,
            "signature": signature.hexdigest(),
        }
        return httpx.post(f"{self.base}/email/mailgun", data=data, timeout=15)


class Agent:
    """What the console asks the API."""

    def __init__(self, base: str) -> None:
        self.base = base

    def lookup(self, type_: str, value: str) -> httpx.Response:
        params = {"type": type_, "value": value}
        return httpx.get(f"{self.base}/v1/customers/lookup", params=params, headers=AGENT_AUTH)

    def summaries(self, type_: str, value: str) -> list[str]:
        found = self.lookup(type_, value)
        if found.status_code != 200:
            return []
        customer = found.json()["customer_id"]
        page = httpx.get(
            f"{self.base}/v1/customers/{customer}/timeline",
            params={"limit": 50},
            headers=AGENT_AUTH,
        )
        return [item["summary"] for item in page.json()["items"]]

    def search(self, q: str) -> list[dict[str, Any]]:
        r = httpx.get(f"{self.base}/v1/search", params={"q": q}, headers=AGENT_AUTH)
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items


def shop_order(number: int, email: str, customer_id: int, surname: str) -> dict[str, Any]:
    order = copy.deepcopy(json_sample("store/samples/shopify_orders_create.json"))
    order.update(
        id=random.randint(10**12, 10**13), name=f"#{number}", order_number=number, email=email
    )
    order["contact_email"] = email
    order["customer"].update(id=customer_id, email=email, phone=None, last_name=surname)
    order["billing_address"]["phone"] = None
    return order


def test_each_new_route_lands_on_its_customers_timeline(
    gateway: str, api: str, clean_db: str, workers: Workers
) -> None:
    send, agent = Sender(gateway), Agent(api)
    tag, surname = uuid.uuid4().hex[:10], "Lopez" + letters().capitalize()
    phone = f"+4477009{random.randint(10000, 99999)}"
    maria = f"maria-{tag}@shopper-mail.io"
    shop_a, shop_b = f"a-{tag}.myshopify.com", f"b-{tag}.myshopify.com"
    number = random.randint(100_000, 999_999)

    # Maria: the shop's customer record, a WhatsApp message, an email; names from all three.
    customer = json_sample("store/samples/shopify_customers_create.json")
    customer.update(id=random.randint(10**9, 10**10), email=maria, phone=phone)
    customer.update(first_name="Maria", last_name=surname)
    assert send.shopify("customers/create", customer, shop_a).status_code == 200
    sms = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": "AC" + uuid.uuid4().hex,
        "From": f"whatsapp:{phone}",
        "To": "whatsapp:+14155550100",
        "Body": "Is my order ready to collect?",
        "NumMedia": "0",
        "ProfileName": "Mari",
        "WaId": phone[1:],
        "SmsStatus": "received",
    }
    assert send.twilio(sms).status_code == 200
    reply = {
        **sms,
        "MessageSid": "SM" + uuid.uuid4().hex,
        "From": sms["To"],
        "To": sms["From"],
        "MessageStatus": "delivered",
    }
    assert send.twilio(reply).status_code == 200
    mail = {
        "headers": f"From: M. {surname} <{maria}>\nTo: help@threadline-shop.com\n"
        f"Subject: Collection of order #{number}\nMessage-ID: <{tag}@mail.example.com>",
        "text": "When can I collect it?",
    }
    assert httpx.post(f"{gateway}/email/sendgrid", data=mail, headers=BASIC).status_code == 200
    order = shop_order(number, maria, customer["id"], surname)
    assert send.shopify("orders/create", order, shop_a).status_code == 200
    refund = {**json_sample("store/samples/shopify_refunds_create.json"), "order_id": order["id"]}
    refund["id"] = random.randint(10**9, 10**10)
    assert send.shopify("refunds/create", refund, shop_a).status_code == 200
    pickup = json_sample("store/samples/shopify_fulfillments_create.json")
    pickup.update(
        id=random.randint(10**9, 10**10),
        order_id=order["id"],
        name=f"#{number}.1",
        shipment_status="picked_up",
    )
    assert send.shopify("fulfillments/create", pickup, shop_a).status_code == 200
    # Another shop's customer holds the same order number.
    other = f"tom-{tag}@shopper-mail.io"
    other_order = shop_order(number, other, random.randint(10**9, 10**10), "Reed")
    assert send.shopify("orders/create", other_order, shop_b).status_code == 200

    # One customer per remaining route.
    survey = json_sample("surveys/samples/delighted_survey_response_updated.json")
    survey["event_data"]["id"] = tag
    survey["event_data"]["person"].update(id=tag, email=f"charlie-{tag}@shopper-mail.io")
    assert send.delighted(survey).status_code == 200
    form = json_sample("surveys/samples/typeform_form_response.json")
    form["form_response"]["token"] = tag
    form["form_response"]["answers"][1]["email"] = f"laura-{tag}@shopper-mail.io"
    assert send.typeform(form).status_code == 200
    mailgun = {
        "from": f"Ana Silva <ana-{tag}@shopper-mail.io>",
        "recipient": "help@threadline-shop.com",
        "subject": "Wrong size delivered",
        "body-plain": "The shirt is an M, I ordered an L.",
        "message-headers": orjson.dumps([["Message-Id", f"<mg-{tag}@shopper-mail.io>"]]).decode(),
    }
    assert send.mailgun(mailgun).status_code == 200
    postmark = json_sample("email/samples/postmark_inbound.json")
    postmark.update(From=f"lee-{tag}@shopper-mail.io", Subject="Invoice copy please")
    postmark["FromFull"] = {"Email": f"lee-{tag}@shopper-mail.io", "Name": "Lee Park"}
    r = httpx.post(f"{gateway}/email/postmark", json=postmark, headers=BASIC)
    assert r.status_code == 200
    record = json_sample("call_centre/samples/connect_voice_inbound.json")
    caller = f"+4477009{random.randint(10000, 99999)}"
    record.update(ContactId=str(uuid.uuid4()), Attributes={"customerName": "Sam Okafor"})
    record["CustomerEndpoint"]["Address"] = caller
    bad = orjson.dumps({"Channel": "VOICE", "marker": f"bad-{tag}"})
    delivery = {
        "requestId": str(uuid.uuid4()),
        "timestamp": 1578090901599,
        "records": [
            {"data": base64.b64encode(orjson.dumps(record)).decode()},
            {"data": base64.b64encode(bad).decode()},
        ],
    }
    firehose = {
        "X-Amz-Firehose-Request-Id": delivery["requestId"],
        "X-Amz-Firehose-Access-Key": KEY,
    }
    r = httpx.post(f"{gateway}/call-centre/amazon-connect", json=delivery, headers=firehose)
    assert (r.status_code, set(r.json())) == (200, {"requestId", "timestamp"})
    crowd = ", ".join(f"n{i}-{tag}@shopper-mail.io" for i in range(10_000))
    big = (
        f"From: Big Sender <big-{tag}@shopper-mail.io>\r\nTo: {crowd}\r\nSubject: Neighbours\r\n"
        f"Message-ID: <big-{tag}@shopper-mail.io>\r\n\r\nHello all\r\n"
    ).encode()
    assert len(big) > 250_000
    inbound = {**BASIC, "Content-Type": "message/rfc822"}
    assert httpx.post(f"{gateway}/email/inbound", content=big, headers=inbound).status_code == 202

    workers.start(f"journeys-{tag}")
    expected = {
        ("email", maria): {
            "Shop customer record: Maria " + surname,
            "WhatsApp (customer): Is my order ready to collect?",
            "WhatsApp sent to the customer: delivered",
            f"Email: Collection of order #{number}",
            f"Order #{number}: 2 items, 59.90 EUR (online, pickup)",
            f"Return on order {order['id']}: 2 items, 209.00 USD refunded",
            f"Order #{number} collected in store",
        },
        ("email", f"charlie-{tag}@shopper-mail.io"): {
            "Survey: NPS 9/10 (promoter): Your service is fast and flawless!"
        },
        ("email", f"ana-{tag}@shopper-mail.io"): {"Email: Wrong size delivered"},
        ("email", f"lee-{tag}@shopper-mail.io"): {"Email: Invoice copy please"},
        ("email", f"big-{tag}@shopper-mail.io"): {"Email: Neighbours"},
        ("phone", caller): {"Call (inbound, 4m 12s) with agent jdoe, queue Billing"},
    }

    missing: dict[tuple[str, str], set[str]] = {}

    def landed() -> bool:
        missing.clear()
        for who, want in expected.items():
            got = set(agent.summaries(*who))
            if not want <= got:
                missing[who] = want - got
        return not missing

    try:
        wait_for(landed, timeout=120, what="every route's message on its customer's timeline")
    except AssertionError:
        raise AssertionError(f"not on the timelines: {missing}") from None
    laura = agent.summaries("email", f"laura-{tag}@shopper-mail.io")
    assert [s for s in laura if s.startswith("Survey: CSAT 2: It's cold right now!")]

    # Names: the shop's record beats the email display name and the WhatsApp profile name.
    profile = agent.lookup("phone", phone).json()
    assert profile["traits"]["name"] == f"Maria {surname}"
    assert [h["customer_id"] for h in agent.search(surname)] == [profile["customer_id"]]
    sam = agent.lookup("phone", caller).json()
    assert sam["traits"]["name"] == "Sam Okafor"

    # Order numbers as typed, per shop.
    assert agent.lookup("order_id", f"#{number}").status_code == 409
    for typed in (f"#{number}@{shop_a}", f"{number}@{shop_a.upper()}"):
        assert agent.lookup("order_id", typed).json()["customer_id"] == profile["customer_id"]
    hits = {h["customer_id"] for h in agent.search(f"#{number}")}
    assert profile["customer_id"] in hits and len(hits) == 2

    # The bad Firehose record is in the dead-letter store with its bytes; nothing is there
    # for size.
    def stored_letters() -> list[Any]:
        engine = make_sync_engine(clean_db)
        with engine.connect() as conn:
            rows = list(conn.execute(sa.select(dead_letters)))
        engine.dispose()
        return rows

    wait_for(
        lambda: any(bytes(r.original) == bad for r in stored_letters()),
        what="the bad Firehose record in the dead-letter store",
    )
    [letter] = [r for r in stored_letters() if bytes(r.original) == bad]
    assert letter.component == "ingest.amazon-connect"
    assert letter.error.startswith("records[1].ContactId: is required")
    # The 10,000-recipient mail was trimmed and stored: nothing acknowledged is dead-lettered.
    assert not [r for r in stored_letters() if f"big-{tag}".encode() in bytes(r.original)]


def test_the_deadletter_cli_lists_what_the_gateway_refused(
    gateway: str,
    clean_db: str,
    workers: Workers,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tag = uuid.uuid4().hex[:10]
    bad = f'{{"Channel": "CHAT", "note": "cli-{tag}"}}'.encode()
    delivery = {
        "requestId": tag,
        "timestamp": 1,
        "records": [{"data": base64.b64encode(bad).decode()}],
    }
    headers = {"X-Amz-Firehose-Request-Id": tag, "X-Amz-Firehose-Access-Key": KEY}
    r = httpx.post(f"{gateway}/call-centre/amazon-connect", json=delivery, headers=headers)
    assert r.status_code == 200
    workers.start(f"cli-{tag}")
    monkeypatch.setenv("THREADLINE_DATABASE_URL", clean_db)

    def listed() -> list[str]:
        assert main(["deadletter", "list", "--component", "ingest.amazon-connect"]) == 0
        return capsys.readouterr().out.splitlines()

    wait_for(lambda: any("records[0].ContactId" in line for line in listed()), what="the letter")
