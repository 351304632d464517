"""Per-app state shared by the channel transports, and the publish step every route ends with."""

from __future__ import annotations

import time
from base64 import b64decode
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from starlette.requests import Request

from ingest.http import (
    ApiError,
    invalid,
    parse_json,
    read_body,
    require_json_content_type,
)
from ingest.keys import WriteKey, WriteKeys
from ingest.metrics import IngestMetrics
from ingest.origins import Origins
from ingest.publisher import Publisher, PublishError
from ingest.settings import IngestSettings
from schemas import CanonicalEvent, InvalidEvent
from schemas.deadletter import DeadLetter
from schemas.errors import EventTooLarge
from schemas.events import encode_within_limits, utc_now

log = structlog.get_logger()

RETRY_AFTER_S = "5"


@dataclass(frozen=True)
class Gateway:
    """What a request handler needs: settings, accepted keys, publisher and metrics."""

    settings: IngestSettings
    publisher: Publisher
    metrics: IngestMetrics
    write_keys: WriteKeys
    origins: Origins


def get_gateway(request: Request) -> Gateway:
    """The gateway state of the app serving `request`."""
    gateway = request.app.state.gateway
    assert isinstance(gateway, Gateway)
    return gateway


BAD_WRITE_KEY = "missing or invalid write key (HTTP Basic user, or Authorization: Bearer <key>)"
BROWSER_KEY_REFUSED = (
    "a browser write key is public: it may send only to the analytics.js and Segment routes "
    "(/v1/...); use a server key here"
)


def refuse_browser_key(key: WriteKey) -> WriteKey:
    """403 for a public (browser) key on a route that believes what it is sent."""
    if key.is_browser:
        raise ApiError(403, "browser_key_refused", BROWSER_KEY_REFUSED)
    return key


def require_write_key(request: Request, *, alt_header: str | None = None) -> WriteKey:
    """The server write key the request carries: 401 without an accepted one, 403 for a
    browser key (its holder is anyone; these routes believe what they are sent).

    Accepted: the HTTP Basic user (as the Segment SDKs send it), `Authorization: Bearer <key>`,
    or, where a vendor cannot send either, the key in `alt_header` (e.g. Kinesis Firehose's
    `X-Amz-Firehose-Access-Key`).
    """
    candidate: bytes | None = None
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            candidate = value.strip().encode()
        elif scheme.lower() == "basic":
            try:
                candidate = b64decode(value.strip(), validate=True).partition(b":")[0]
            except ValueError:
                raise ApiError(401, "unauthorized", BAD_WRITE_KEY) from None
    elif alt_header is not None and request.headers.get(alt_header) is not None:
        candidate = request.headers[alt_header].strip().encode()
    key = get_gateway(request).write_keys.match(candidate)
    if key is None:
        raise ApiError(401, "unauthorized", BAD_WRITE_KEY)
    return refuse_browser_key(key)


MapBody = Callable[[Any, datetime, str], list[CanonicalEvent]]


async def accept_json_events(request: Request, max_bytes: int, map_body: MapBody) -> int:
    """The whole life of a JSON route: write key, capped body, map (413 / 422), publish.

    Returns how many events were published, after the broker acknowledged all of them.
    """
    received_at = utc_now()
    require_write_key(request)
    raw = await read_body(request, max_bytes)
    require_json_content_type(request)
    body = parse_json(raw)
    with refusing_invalid():
        events = map_body(body, received_at, get_gateway(request).settings.default_region)
    await publish_events(request, events)
    return len(events)


@contextmanager
def refusing_invalid() -> Iterator[None]:
    """Turn a mapping's refusal into the HTTP answer: 413 over a limit, else 400."""
    try:
        yield
    except EventTooLarge as exc:
        raise ApiError(413, "payload_too_large", str(exc)) from None
    except InvalidEvent as exc:
        raise invalid("invalid_event", str(exc)) from None


def check_limits(events: Sequence[CanonicalEvent]) -> None:
    """Refuse (400 / 413) any event the worker could not store, before anything is sent."""
    with refusing_invalid():
        for event in events:
            encode_within_limits(event)


async def publish_dead_letters(request: Request, letters: Sequence[DeadLetter]) -> None:
    """Publish records refused one by one to the dead-letter topic, or raise 503."""
    if not letters:
        return
    with _acknowledged(len(letters), "dead letters"):
        await get_gateway(request).publisher.publish_dead_letters(letters)
    for letter in letters:
        get_gateway(request).metrics.rejected.labels("dead_lettered").inc()
        log.info("record_dead_lettered", component=letter.component, size=len(letter.original))


@contextmanager
def _acknowledged(count: int, what: str) -> Iterator[None]:
    """Turn a publish the broker did not acknowledge into 503 `broker_unavailable`."""
    try:
        yield
    except PublishError as exc:
        log.warning("publish_failed", what=what, count=count, reason=str(exc))
        raise ApiError(
            503,
            "broker_unavailable",
            f"the event broker did not acknowledge the {what}; retry later",
            {"Retry-After": RETRY_AFTER_S},
        ) from None


async def publish_events(request: Request, events: Sequence[CanonicalEvent]) -> None:
    """Check every event's limits, publish, and wait for the broker's acknowledgement.

    Raises 400 / 413 for an event the worker would refuse (nothing is sent), 503
    `broker_unavailable` when the broker does not acknowledge in time.
    """
    check_limits(events)
    gateway = get_gateway(request)
    started = time.perf_counter()
    with _acknowledged(len(events), "events"):
        await gateway.publisher.publish(events)
    gateway.metrics.publish_latency.observe(time.perf_counter() - started)
    for (channel, source), count in Counter((e.channel.value, e.source) for e in events).items():
        gateway.metrics.accepted.labels(channel, source).inc(count)
