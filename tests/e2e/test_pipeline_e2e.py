"""The whole stack as `threadline dev` runs it: the real Segment SDK in, the unified view out.

Starts `threadline dev` (embedded broker, embedded PostgreSQL, worker, ingest gateway, API)
on free loopback ports, sends a browsing-then-login journey with `segment-analytics-python`,
and reads the stitched timeline back from the API. Then restarts the stack on the same data
folder: the timeline is still there.
"""

from __future__ import annotations

import smtplib
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from services.demo import load_demo
from tests.support.devstack import dev_stack_run

pytestmark = pytest.mark.e2e

AGENT = {"Authorization": "Bearer dev-agent-key"}
SAMPLES = Path(__file__).resolve().parent.parent / "unit" / "ingest"


@contextmanager
def dev_stack(tmp_path: Path, *flags: str, **env: str) -> Iterator[dict[str, str]]:
    """`threadline dev` on free ports over `tmp_path/data`; each use restarts it on the same
    data. The stop must end within DESIGN's 10 s and leave nothing running."""
    with dev_stack_run(tmp_path, **env) as run:
        run.start(*flags)
        yield {"api": run.api, "ingest": run.ingest, "smtp_port": str(run.ports["smtp"])}
        code = run.stop()
        assert code == 0, run.log_since()[-3000:]
        assert run.stop_seconds < 10 and run.leftovers() == []


def wait_until(check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError("timed out")


def timeline(api: str, customer_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = httpx.get(
            f"{api}/v1/customers/{customer_id}/timeline", params=params, headers=AGENT
        ).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


def test_anonymous_browsing_joins_the_customer_after_identify(tmp_path: Path) -> None:
    from segment.analytics import Client

    anon, user = f"anon-{uuid.uuid4()}", f"user-{uuid.uuid4()}"
    t0 = datetime.now(UTC) - timedelta(minutes=10)
    with dev_stack(tmp_path) as urls:
        errors: list[Exception] = []
        client = Client(
            "dev-write-key",
            host=urls["ingest"],
            sync_mode=True,
            on_error=lambda e, _b: errors.append(e),
        )
        client.page(anonymous_id=anon, name="Home", timestamp=t0, message_id=f"m1-{anon}")
        client.page(
            anonymous_id=anon,
            name="Click & Collect",
            properties={"url": "https://shop.example/collect"},
            timestamp=t0 + timedelta(minutes=1),
            message_id=f"m2-{anon}",
        )
        client.identify(
            user,
            {"email": "Maria.Lopez@Shop.io", "phone": "(415) 555-0134", "name": "Maria Lopez"},
            anonymous_id=anon,
            timestamp=t0 + timedelta(minutes=2),
            message_id=f"m3-{anon}",
        )
        # Redelivery of an already-sent message must add nothing.
        client.page(anonymous_id=anon, name="Home", timestamp=t0, message_id=f"m1-{anon}")
        assert errors == []

        api = urls["api"]

        def stitched() -> dict[str, Any] | None:
            resp = httpx.get(
                f"{api}/v1/customers/lookup",
                params={"type": "phone", "value": "415.555.0134"},
                headers=AGENT,
            )
            if resp.status_code != 200:
                return None
            profile: dict[str, Any] = resp.json()
            return profile if profile["channels"].get("web", {}).get("count") == 3 else None

        profile = wait_until(stitched, 60)
        assert profile["traits"]["name"] == "Maria Lopez"
        held = {(i["type"], i["value"]) for i in profile["identifiers"]}
        assert held == {
            ("anonymous_id", anon),
            ("user_id", user),
            ("email", "maria.lopez@shop.io"),
            ("phone", "+14155550134"),
        }
        by_anon = httpx.get(
            f"{api}/v1/customers/lookup",
            params={"type": "anonymous_id", "value": anon},
            headers=AGENT,
        ).json()
        assert by_anon["customer_id"] == profile["customer_id"]
        items = timeline(api, profile["customer_id"])
        assert [i["kind"] for i in items] == ["identified", "page_viewed", "page_viewed"]
        assert [i["event_id"] for i in items] == [f"segment:m{n}-{anon}" for n in (3, 2, 1)]
        customer_id = profile["customer_id"]

    with dev_stack(tmp_path) as urls:
        items = timeline(urls["api"], customer_id)
        assert len(items) == 3, "timelines survive a restart of the dev stack"


def test_the_design_scenario_every_channel_in_one_view(tmp_path: Path) -> None:
    """`threadline dev --demo` sends Maria's journey in each channel's native format; the agent
    types her number in national format and sees the email subject, the chat and the order."""
    with dev_stack(tmp_path, "--demo", THREADLINE_DEMO_CUSTOMERS="60") as urls:
        api = urls["api"]

        def complete() -> dict[str, Any] | None:
            resp = httpx.get(
                f"{api}/v1/customers/lookup",
                params={"type": "phone", "value": "(415) 555-0132"},
                headers=AGENT,
            )
            if resp.status_code != 200:
                return None
            profile: dict[str, Any] = resp.json()
            wanted = {"web", "chat", "store", "email", "call_centre", "survey"}
            return profile if wanted <= set(profile["channels"]) else None

        profile = wait_until(complete, 90)
        assert profile["traits"]["name"] == "Maria Lopez"
        assert profile["cx"]["nps"]["score"] == 9
        items = timeline(api, profile["customer_id"])
        summaries = " | ".join(i["summary"] for i in items)
        assert "Collection time for order W-5000" in summaries
        kinds = {i["kind"] for i in items}
        assert {"page_viewed", "identified", "chat_message", "order_placed"} <= kinds
        assert {"email_received", "call_completed", "survey_response"} <= kinds
        agent_reply = [i for i in items if i["kind"] == "chat_message"]
        assert len(agent_reply) == 2, "the agent's reply joins through the conversation id"
        others = httpx.get(
            f"{api}/v1/customers/lookup",
            params={"type": "phone", "value": "415-555-0177"},
            headers=AGENT,
        ).json()
        assert others["customer_id"] != profile["customer_id"]

        # `make demo` twice adds nothing twice: every demo record has a deterministic id.
        assert load_demo(urls["ingest"], tmp_path / "data") > 0
        for _ in range(10):
            time.sleep(0.5)
            assert len(timeline(api, profile["customer_id"])) == len(items)
        send_through_every_native_transport(urls)

        def all_sources() -> list[dict[str, Any]] | None:
            got = timeline(api, profile["customer_id"])
            wanted = {"smtp", "twilio-conversations", "shopify", "asterisk"}
            return got if wanted <= {i["source"] for i in got} else None

        items = wait_until(all_sources, 60)
        assert any(
            i["summary"].startswith("Email") and "Leaving early" in i["summary"] for i in items
        )


def send_through_every_native_transport(urls: dict[str, str]) -> None:
    """Maria again, through smtplib, a Twilio webhook, a Shopify webhook and an Asterisk CDR."""
    mail = EmailMessage()
    mail["From"] = "Maria Lopez <maria.lopez@example-mail.com>"
    mail["To"] = "help@example-shop.io"
    mail["Subject"] = "Leaving early today"
    mail["Message-ID"] = make_msgid("e2e")
    mail.set_content("Can someone else collect for me?")
    with smtplib.SMTP("127.0.0.1", int(urls["smtp_port"]), timeout=15) as smtp:
        smtp.send_message(mail)
    ingest, key = urls["ingest"], ("dev-write-key", "")
    twilio = {
        "EventType": "onMessageAdded",
        "ConversationSid": f"CH{uuid.uuid4().hex}",
        "MessageSid": f"IM{uuid.uuid4().hex}",
        "Index": "0",
        "DateCreated": "2026-01-05T10:02:11.000Z",
        "Author": "whatsapp:+14155550132",
        "Body": "On my way to the store",
        "Source": "WHATSAPP",
    }
    assert httpx.post(f"{ingest}/chat/twilio", data=twilio).status_code == 200
    order = orjson.loads(
        (SAMPLES / "store" / "samples" / "shopify_orders_create.json").read_bytes()
    )
    order.update(id=uuid.uuid4().int % 10**12, email="maria.lopez@example-mail.com", customer=None)
    resp = httpx.post(
        f"{ingest}/store/shopify/orders",
        content=orjson.dumps(order),
        headers={"Content-Type": "application/json", "X-Shopify-Topic": "orders/create"},
    )
    assert resp.status_code < 300, resp.text
    row = (
        '"","4155550132","6001","from-trunk","""Maria"" <4155550132>","PJSIP/trunk-1",'
        '"PJSIP/6001-2","Dial","PJSIP/6001,30","2026-01-05 10:15:02","2026-01-05 10:15:09",'
        '"2026-01-05 10:19:21",259,252,"ANSWERED","DOCUMENTATION",'
        f'"{uuid.uuid4().int % 10**9}.1",""'
    )
    resp = httpx.post(
        f"{ingest}/call-centre/asterisk-cdr",
        content=row + "\n",
        headers={"Content-Type": "text/csv"},
        auth=key,
    )
    assert resp.status_code < 300, resp.text
