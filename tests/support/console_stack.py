"""Native payloads for the console's browser tests against `threadline dev`: a customer through
Segment identify and page calls, mail, an Amazon Connect contact record, Shopify orders, a
screen pop and a Twilio TaskRouter reservation event, sent to the real gateway; and waiting
until the stack has stored what was sent."""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson

SAMPLES = Path(__file__).resolve().parent.parent / "unit" / "ingest"
WRITE = {"Authorization": "Bearer dev-write-key"}
AGENT_KEY, ADMIN_KEY = "dev-agent-key", "dev-admin-key"


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Person:
    """One test customer: a name and the identifiers channel systems know them by."""

    name: str
    email: str | None = None
    phone: str | None = None

    @property
    def device(self) -> str:
        return "dev-" + (self.email or self.phone or self.name).replace("@", "-")


class Gateway:
    """The stack's ingest gateway, as channel systems call it (dev write key)."""

    def __init__(self, url: str) -> None:
        self.http = httpx.AsyncClient(base_url=url, timeout=30)

    async def close(self) -> None:
        await self.http.aclose()

    async def post(self, path: str, expect: int = 200, **request: Any) -> httpx.Response:
        """POST with the write key (as the HTTP Basic user on Segment's routes, as Segment
        sends it); fails unless the answer is `expect`."""
        headers = request.pop("headers", {})
        if path.startswith("/v1/"):
            request["auth"] = ("dev-write-key", "")
        else:
            headers = {**WRITE, **headers}
        response = await self.http.post(path, headers=headers, **request)
        assert response.status_code == expect, (path, response.status_code, response.text)
        return response

    async def identify(self, who: Person, at: datetime) -> None:
        traits = {"name": who.name, "email": who.email, "phone": who.phone}
        body = {
            "anonymousId": who.device,
            "messageId": f"id-{uuid.uuid4()}",
            "timestamp": iso(at),
            "traits": {k: v for k, v in traits.items() if v},
        }
        await self.post("/v1/identify", json=body)

    async def pages(self, who: Person, times: list[datetime], prefix: str = "/shop") -> None:
        batch = [
            {
                "type": "page",
                "anonymousId": who.device,
                "messageId": f"pv-{uuid.uuid4()}",
                "name": f"{prefix}/{n}",
                "timestamp": iso(at),
                "properties": {"path": f"{prefix}/{n}"},
            }
            for n, at in enumerate(times)
        ]
        await self.post("/v1/batch", json={"batch": batch})

    async def email(self, who: Person, subject: str, at: datetime, body: str = "Hello") -> None:
        msg = EmailMessage()
        msg["From"] = f"{who.name} <{who.email}>"
        msg["To"] = "help@threadline-shop.com"
        msg["Subject"] = subject
        msg["Date"] = format_datetime(at)
        msg["Message-ID"] = make_msgid(domain="mail.example.net")
        msg.set_content(body)
        headers = {"Content-Type": "message/rfc822"}
        await self.post("/email/inbound", expect=202, content=msg.as_bytes(), headers=headers)

    async def chat(self, who: Person, conversation: str, text: str, at: datetime) -> None:
        """A customer's message in a web-chat widget (`/chat/events`)."""
        body = {
            "conversation_id": conversation,
            "type": "message",
            "message_id": f"m-{uuid.uuid4()}",
            "text": text,
            "occurred_at": iso(at),
            "customer": {"email": who.email},
        }
        await self.post("/chat/events", json=body)

    async def connect_record(
        self,
        who: Person,
        contact_id: str,
        started: datetime,
        updated: datetime,
        queue: str = "Orders",
        reason: str = "CUSTOMER_DISCONNECT",
        agent: str = "dev-agent",
    ) -> None:
        """An Amazon Connect contact record (the documented sample, re-timed and re-addressed)."""
        ctr = orjson.loads(
            (SAMPLES / "call_centre/samples/connect_voice_inbound.json").read_bytes()
        )
        ended = started + timedelta(minutes=4)
        ctr.update(
            ContactId=contact_id,
            Attributes={},
            CustomerEndpoint={"Address": who.phone, "Type": "TELEPHONE_NUMBER"},
            InitiationTimestamp=iso(started),
            ConnectedToSystemTimestamp=iso(started),
            DisconnectTimestamp=iso(ended),
            LastUpdateTimestamp=iso(updated),
            DisconnectReason=reason,
        )
        ctr["Agent"].update(Username=agent, ConnectedToAgentTimestamp=iso(started))
        for key in ("AfterContactWorkStartTimestamp", "AfterContactWorkEndTimestamp"):
            ctr["Agent"][key] = iso(ended)
        ctr["Queue"].update(
            Name=queue, EnqueueTimestamp=iso(started), DequeueTimestamp=iso(started)
        )
        await self.post("/call-centre/amazon-connect", json=ctr)

    async def shopify(self, topic: str, who: Person, order_id: int, **changes: Any) -> None:
        """A Shopify order webhook (the documented sample, for this customer and order)."""
        name = "shopify_orders_updated_fulfilled" if topic != "orders/create" else None
        sample = name or "shopify_orders_create"
        order = copy.deepcopy(orjson.loads((SAMPLES / f"store/samples/{sample}.json").read_bytes()))
        order.update(
            id=order_id, name=f"#{order_id % 10000}", order_number=order_id % 10000,
            email=who.email, contact_email=who.email, phone=None, **changes,
        )  # fmt: skip
        order["customer"].update(
            id=order_id + 1, email=who.email, phone=who.phone, first_name=who.name, last_name=""
        )
        for address in ("billing_address", "shipping_address", "default_address"):
            for held in (order.get(address), order["customer"].get(address)):
                if isinstance(held, dict):
                    held.update(phone=who.phone, first_name=who.name, last_name="", name=who.name)
        headers = {"X-Shopify-Topic": topic, "Content-Type": "application/json"}
        await self.post("/store/shopify", content=orjson.dumps(order), headers=headers)

    async def screen_pop(self, agent: str, who: Person, contact_id: str) -> dict[str, Any]:
        body = {
            "agent": agent,
            "caller": {"phone": who.phone},
            "contact_id": contact_id,
            "platform": "amazon-connect",
            "queue": "Orders",
        }
        response = await self.post("/call-centre/screen-pop", expect=202, json=body)
        return dict(response.json())

    async def taskrouter(self, event_type: str, agent: str, who: Person, task: str) -> None:
        """A TaskRouter event callback (dev mode: unsigned) for a voice task from `who`."""
        form = (SAMPLES / "call_centre/samples/taskrouter_reservation_created.form").read_text()
        params = dict(httpx.QueryParams(form))
        now = datetime.now(UTC)
        params.update(
            EventType=event_type,
            WorkerName=agent,
            TaskSid=task,
            ReservationSid="WR" + task[2:],
            Timestamp=str(int(now.timestamp())),
            TimestampMs=str(int(now.timestamp() * 1000)),
            TaskAge="3",
            TaskAttributes=orjson.dumps(
                {"from": who.phone, "direction": "inbound", "call_sid": "CA" + task[2:]}
            ).decode(),
        )
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        await self.post(
            "/call-centre/twilio-taskrouter", expect=204, content=urlencode(params), headers=headers
        )


async def wait_for_profile(
    api: str, lookup: tuple[str, str], ready: Callable[[dict[str, Any]], bool] = lambda p: True
) -> dict[str, Any]:
    """Poll the API until the customer holding `lookup` (type, value) is stored and `ready`."""
    async with httpx.AsyncClient(base_url=api, timeout=10) as http:
        for _ in range(200):
            response = await http.get(
                "/v1/customers/lookup",
                params={"type": lookup[0], "value": lookup[1]},
                headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            )
            if response.status_code == 200 and ready(response.json()):
                return dict(response.json())
            await asyncio.sleep(0.2)
    raise AssertionError(f"{lookup[0]} never reached a ready profile")


def channel_count(channel: str, n: int) -> Callable[[dict[str, Any]], bool]:
    """A readiness check: at least `n` events on `channel`."""
    return lambda p: p["channels"].get(channel, {}).get("count", 0) >= n
