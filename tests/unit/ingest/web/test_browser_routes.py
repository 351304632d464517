"""What browsers send to the gateway, in-process: analytics.js short routes, beacons, the SDK
settings, CORS, gzip whatever the declared type, and browser keys kept off server routes."""

from __future__ import annotations

import base64
import gzip
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from ingest.app import create_app
from ingest.keys import DEV_BROWSER_KEY, DEV_VERIFICATION_SECRET, DEV_WRITE_KEY
from ingest.settings import IngestSettings
from ingest.web.verification import user_hash
from schemas.trust import Trust
from tests.unit.ingest.test_app import RecordingPublisher

PAGE = "http://127.0.0.1:5173"
TEXT = {"Content-Type": "text/plain;charset=UTF-8", "Origin": PAGE}


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def message(**fields: Any) -> dict[str, Any]:
    return {"anonymousId": "dev-1", "writeKey": DEV_BROWSER_KEY, "messageId": "m-1", **fields}


@pytest.fixture
async def client(publisher: RecordingPublisher) -> AsyncIterator[httpx.AsyncClient]:
    settings = IngestSettings(dev_mode=True, cors_origins="https://shop.example.com")
    app = create_app(settings, publisher)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8001") as c:
        yield c


async def test_a_text_plain_track_with_the_key_in_the_body(
    client: httpx.AsyncClient, publisher: RecordingPublisher
) -> None:
    body = message(event="Viewed", userId="cust-42")
    r = await client.post("/v1/t", content=orjson.dumps(body), headers=TEXT)
    assert r.status_code == 200 and r.json() == {"success": True}
    assert r.headers["access-control-allow-origin"] == PAGE
    [event] = publisher.events
    assert event.kind == "tracked" and event.trust is Trust.BROWSER_UNVERIFIED
    assert [i.value for i in event.claims] == ["cust-42"]
    metrics = (await client.get("/metrics")).text
    assert 'threadline_ingest_browser_events_total{trust="browser_unverified"} 1.0' in metrics


async def test_every_short_route_and_the_batch_route(
    client: httpx.AsyncClient, publisher: RecordingPublisher
) -> None:
    calls = {
        "p": {"name": "Home"},
        "i": {"userId": "cust-42", "context": {"user_hash": user_hash(SECRET, "cust-42")}},
        "a": {"userId": "cust-42", "previousId": "dev-1"},
        "g": {"groupId": "acme"},
        "s": {"name": "Checkout"},
    }
    for letter, fields in calls.items():
        r = await client.post(
            f"/v1/{letter}", content=orjson.dumps(message(**fields)), headers=TEXT
        )
        assert r.status_code == 200, (letter, r.text)
    batch = {"writeKey": DEV_BROWSER_KEY, "batch": [message(type="page", messageId="m-2")]}
    assert (
        await client.post("/v1/b", content=orjson.dumps(batch), headers=TEXT)
    ).status_code == 200
    kinds = [e.kind for e in publisher.events]
    assert kinds == [
        "page_viewed",
        "identified",
        "aliased",
        "grouped",
        "screen_viewed",
        "page_viewed",
    ]
    identified = publisher.events[1]
    assert identified.trust is Trust.BROWSER_VERIFIED
    assert {i.type for i in identified.identifiers} == {"anonymous_id", "user_id"}


SECRET = DEV_VERIFICATION_SECRET.encode()


async def test_a_beacon_blob_without_a_type_and_the_rudderstack_beacon(
    client: httpx.AsyncClient, publisher: RecordingPublisher
) -> None:
    r = await client.post("/v1/t", content=orjson.dumps(message(event="Left")))
    assert r.status_code == 200
    batch = {"batch": [{**message(type="track", event="Left"), "writeKey": None}]}
    r = await client.post(
        f"/beacon/v1/batch?writeKey={DEV_BROWSER_KEY}", content=orjson.dumps(batch), headers=TEXT
    )
    assert r.status_code == 200, r.text
    assert [e.trust for e in publisher.events] == [Trust.BROWSER_UNVERIFIED] * 2


async def test_a_gzip_batch_declared_as_a_form_is_read_as_json(
    client: httpx.AsyncClient, publisher: RecordingPublisher
) -> None:
    # RudderStack's Node SDK in its default settings: gzip, axios's form content type.
    body = {"batch": [{"type": "track", "event": "Paid", "userId": "u-1", "messageId": "g-1"}]}
    headers = {
        **basic(DEV_WRITE_KEY),
        "Content-Encoding": "gzip",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    r = await client.post("/v1/batch", content=gzip.compress(orjson.dumps(body)), headers=headers)
    assert r.status_code == 200, r.text
    assert publisher.events[0].trust is Trust.SERVER
    headers.pop("Content-Encoding")
    r = await client.post("/v1/batch", content=orjson.dumps(body), headers=headers)
    assert r.status_code == 415
    r = await client.post(
        "/v1/batch",
        content=gzip.compress(b"a=1&b=2"),
        headers={**headers, "Content-Encoding": "gzip"},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"


async def test_cors_preflight_is_cached_and_needs_no_credentials(client: httpx.AsyncClient) -> None:
    ask = {
        "Origin": "https://shop.example.com",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,anonymousid",
    }
    r = await client.options("/v1/batch", headers=ask)
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "https://shop.example.com"
    assert r.headers["access-control-max-age"] == "7200"
    assert "access-control-allow-credentials" not in r.headers
    allowed = r.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type", "anonymousid"} <= set(
        allowed.replace(" ", "").split(",")
    )
    for path in ("/v1/t", "/v1/projects/x/settings", "/sourceConfig/", "/beacon/v1/batch"):
        assert (await client.options(path, headers=ask)).status_code == 200, path
    refused = await client.options("/v1/t", headers={**ask, "Origin": "https://evil.example"})
    assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers
    # Server routes answer no preflight: browsers never post there.
    other = await client.options("/chat/events", headers=ask)
    assert "access-control-allow-origin" not in other.headers


async def test_a_page_of_an_origin_not_allowed_is_refused(
    client: httpx.AsyncClient, publisher: RecordingPublisher
) -> None:
    headers = {**TEXT, "Origin": "https://evil.example"}
    r = await client.post("/v1/t", content=orjson.dumps(message(event="x")), headers=headers)
    assert r.status_code == 403 and r.json()["error"]["code"] == "origin_not_allowed"
    assert publisher.events == []


async def test_the_settings_analytics_next_loads_point_it_at_the_gateway(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get(f"/v1/projects/{DEV_BROWSER_KEY}/settings", headers={"Origin": PAGE})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == PAGE
    assert "max-age=" in r.headers["cache-control"]
    segment = r.json()["integrations"]["Segment.io"]
    assert segment["apiHost"] == "127.0.0.1:8001/v1" and segment["protocol"] == "http"
    assert segment["apiKey"] == DEV_BROWSER_KEY
    assert r.json()["metrics"]["sampleRate"] == 0 and r.json()["remotePlugins"] == []
    for key in (DEV_WRITE_KEY, "unknown-key"):
        missing = await client.get(f"/v1/projects/{key}/settings")
        assert missing.status_code == 404 and key not in missing.text


async def test_the_public_url_wins_over_the_request(publisher: RecordingPublisher) -> None:
    settings = IngestSettings(dev_mode=True, public_url="https://collect.shop.io/ingest")
    transport = httpx.ASGITransport(app=create_app(settings, publisher))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://internal:8001") as c:
        r = await c.get(f"/v1/projects/{DEV_BROWSER_KEY}/settings")
    segment = r.json()["integrations"]["Segment.io"]
    assert (segment["apiHost"], segment["protocol"]) == ("collect.shop.io/ingest/v1", "https")


async def test_the_source_config_the_rudderstack_sdk_loads(client: httpx.AsyncClient) -> None:
    query = f"p=npm&v=3.34.1&build=modern&writeKey={DEV_BROWSER_KEY}&lockPluginsVersion=true"
    r = await client.get(f"/sourceConfig/?{query}", headers={"Origin": PAGE})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == PAGE
    source = r.json()["source"]
    assert source["enabled"] is True and source["destinations"] == [] and source["id"]
    assert DEV_BROWSER_KEY not in source["id"]
    by_header = await client.get("/sourceConfig", headers=basic(DEV_BROWSER_KEY))
    assert by_header.status_code == 200
    assert (await client.get(f"/sourceConfig/?writeKey={DEV_WRITE_KEY}")).status_code == 404


@pytest.mark.parametrize(
    ("path", "body", "headers"),
    [
        ("/chat/events", {"conversation_id": "c", "type": "started"}, {}),
        ("/store/receipts", {}, {}),
        ("/surveys/responses", {}, {}),
        ("/call-centre/amazon-connect", {}, {}),
        ("/email/postmark", {}, {}),
    ],
)
async def test_a_browser_key_is_refused_where_servers_are_believed(
    client: httpx.AsyncClient,
    publisher: RecordingPublisher,
    path: str,
    body: dict[str, Any],
    headers: dict[str, str],
) -> None:
    for auth in (basic(DEV_BROWSER_KEY), {"Authorization": f"Bearer {DEV_BROWSER_KEY}"}):
        r = await client.post(path, json=body, headers={**auth, **headers})
        assert r.status_code == 403, (path, r.text)
        assert r.json()["error"]["code"] == "browser_key_refused"
    assert publisher.events == []


async def test_the_gateways_openapi_shows_what_browsers_send(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    for letter in ("t", "p", "i", "a", "g", "s", "b"):
        body = doc["paths"][f"/v1/{letter}"]["post"]["requestBody"]["content"]["text/plain"]
        assert "writeKey" in orjson.loads(body["example"]), letter
    identify = orjson.loads(
        doc["paths"]["/v1/i"]["post"]["requestBody"]["content"]["text/plain"]["example"]
    )
    assert identify["context"]["user_hash"] == user_hash(SECRET, identify["userId"])
    settings = doc["paths"]["/v1/projects/{write_key}/settings"]["get"]["responses"]["200"]
    assert "Segment.io" in settings["content"]["application/json"]["example"]["integrations"]
    assert "/sourceConfig" in doc["paths"] and "/beacon/v1/batch" in doc["paths"]
    assert "403" in doc["paths"]["/chat/events"]["post"]["responses"]
