"""Every POST route of the gateway caps its body: 413 JSON, nothing published."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from ingest.app import create_app
from ingest.settings import IngestSettings
from schemas import CanonicalEvent
from tests.support.routes import walk

KEY = "limits-key"
AUTH = {"Authorization": "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()}
CONTENT_TYPES = {
    "/email/inbound": "message/rfc822",
    "/call-centre/asterisk-cdr": "text/csv",
    "/chat/twilio": "application/x-www-form-urlencoded",
    "/call-centre/twilio-taskrouter": "application/x-www-form-urlencoded",
}
#: Over every route's limit (the largest is the 10 MiB email default).
BIG = 11 * 1024 * 1024


class Publisher:
    def __init__(self) -> None:
        self.events: list[CanonicalEvent] = []

    async def publish(self, events: Sequence[CanonicalEvent]) -> None:
        self.events.extend(events)

    async def ready(self, timeout_s: float = 2.0) -> bool:
        return True

    async def close(self) -> None:
        pass


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "streamed"])
async def test_every_post_route_refuses_an_oversized_body(declared: bool) -> None:
    publisher = Publisher()
    app = create_app(IngestSettings(dev_mode=True, write_keys=KEY), publisher)  # type: ignore[arg-type]
    posts = sorted(
        {r.path for r in walk(app.routes) if "POST" in (getattr(r, "methods", None) or ())}
    )
    assert len(posts) >= 14, posts
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway"
    ) as client:
        for path in posts:
            headers = {**AUTH, "Content-Type": CONTENT_TYPES.get(path, "application/json")}

            async def chunks() -> Any:
                for _ in range(BIG // (1024 * 1024)):
                    yield b"x" * (1024 * 1024)

            body: Any = b"x" * BIG if declared else chunks()
            r = await client.post(path, headers=headers, content=body)
            assert r.status_code == 413, (path, r.status_code, r.text[:200])
            assert r.json()["error"]["code"] == "payload_too_large"
    assert publisher.events == []
