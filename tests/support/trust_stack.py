"""A real stack for the source-trust tests: the gateway with a server key and a browser key
(uvicorn), the embedded broker, one worker process, the API, on a database emptied once for
the module; and the helpers that send as a backend and as a browser would."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import text

from api.app import create_app as create_api
from profile_store.storage.engines import make_sync_engine
from profile_store.storage.tables import metadata
from tests.support.api import ADMIN, AGENT, api_settings, running_api
from tests.support.gateway import gateway_on
from tests.support.worker import Workers, wait_for

SERVER_KEY = "trust-server-key"
BROWSER_KEY = "trust-browser-key"
SECRET = "trust-verification-secret-0123"
SALT = "trust-tests-erasure-salt"
WRITE_KEYS = orjson.dumps(
    [SERVER_KEY, {"key": BROWSER_KEY, "trust": "browser", "verification_secret": SECRET}]
).decode()


def empty(database_url: str) -> None:
    engine = make_sync_engine(database_url)
    names = ", ".join(t.name for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@dataclass(frozen=True)
class Stack:
    """Base URLs of the running gateway and API."""

    gateway: str
    api: str

    def agent(self, path: str, **params: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {AGENT}"}
        return httpx.get(f"{self.api}{path}", params=params, headers=headers, timeout=15)

    def admin(self, method: str, path: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {ADMIN}"}
        return httpx.request(method, f"{self.api}{path}", headers=headers, timeout=30)

    def lookup(self, type_: str, value: str) -> httpx.Response:
        return self.agent("/v1/customers/lookup", type=type_, value=value)

    def server(self, call: str, **message: Any) -> None:
        """A call from the company's backend (server key, HTTP Basic)."""
        r = httpx.post(f"{self.gateway}/v1/{call}", json=message, auth=(SERVER_KEY, ""), timeout=15)
        assert r.status_code == 200, r.text

    def browser(self, letter: str, **message: Any) -> None:
        """What analytics.js posts from a page: text/plain, the browser key in the body."""
        body = orjson.dumps({**message, "writeKey": BROWSER_KEY})
        r = httpx.post(
            f"{self.gateway}/v1/{letter}",
            content=body,
            headers={"Content-Type": "text/plain"},
            timeout=15,
        )
        assert r.status_code == 200, r.text

    def timeline(self, customer_id: str) -> list[dict[str, Any]]:
        return list(self.agent(f"/v1/customers/{customer_id}/timeline", limit=200).json()["items"])

    def wait_for_event(self, type_: str, value: str, event_id: str) -> dict[str, Any]:
        """The profile of whoever holds the identifier, once `event_id` is on its timeline."""
        found: dict[str, Any] = {}

        def landed() -> bool:
            r = self.lookup(type_, value)
            if r.status_code != 200:
                return False
            found.update(r.json())
            return any(i["event_id"] == event_id for i in self.timeline(found["customer_id"]))

        wait_for(landed, timeout=60, what=f"{event_id} on the timeline of {type_}")
        return found


@contextmanager
def trust_stack(
    kafka_bootstrap: str, database_url: str, logs: Path, **gateway: Any
) -> Iterator[Stack]:
    """The stack, on a database emptied once; the worker's erasure salt is the API's."""
    empty(database_url)
    workers = Workers(kafka_bootstrap, database_url, logs)
    workers.start(f"trust-{uuid.uuid4().hex[:8]}", THREADLINE_ERASURE_SALT=SALT)
    try:
        with (
            gateway_on(kafka_bootstrap, write_keys=WRITE_KEYS, **gateway) as gateway_url,
            running_api(create_api(api_settings(database_url, erasure_salt=SALT))) as api_url,
        ):
            yield Stack(gateway_url, api_url)
    finally:
        workers.stop_all()
