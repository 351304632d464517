"""`GET /v1/customers/{id}/stream`: Server-Sent Events for one customer while an agent watches.

Events: `ready` (the canonical id, once), `timeline` (a new item, or a new revision of one
already sent, e.g. an edited contact record or order: the client replaces it in place; `id:`
is its row id, so a reconnect may send `Last-Event-ID`), `profile` (the whole profile again,
after new items or a change of traits, scores or merges), `merged` (the customer was merged
into another; the stream follows the survivor), `gone` (the customer no longer exists; the
stream ends).
Comments (`: ping`) keep idle connections open. The stream polls PostgreSQL (see
`profile_store.read.live`) on its own short transaction each time, so it holds no connection
between polls, and it ends as soon as the client goes away.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any, Final, cast

import orjson
import structlog
from fastapi import APIRouter, Depends, Header, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from api import ApiError
from api.deps import AgentReadDep, read_connection, reject_unknown_query
from api.errors import NotFound, responses
from api.params import CustomerId
from api.settings import ApiSettings
from profile_store.read import live
from profile_store.read.profile import load_profile
from profile_store.storage.connections import snapshot
from profile_store.storage.driver import PgConnection, ReadPool
from profile_store.storage.errors import StoreUnavailable
from profile_store.storage.survivor import survivor_of

log = structlog.get_logger()

_MAX_EVENT_ID: Final = 2**63 - 1

router = APIRouter(prefix="/v1", tags=["customers"], dependencies=[Depends(reject_unknown_query)])


class TooManyStreams(ApiError):
    """This process already serves its maximum number of live streams (503)."""

    status_code = 503
    code = "too_many_streams"


class StreamCount:
    """Open live streams in this process (a soft limit: checked before a stream starts)."""

    def __init__(self) -> None:
        self.open = 0


def sse_event(name: str, data: Any, event_id: int | None = None) -> ServerSentEvent:
    """One Server-Sent Event: `data` as JSON, `id:` when given."""
    return ServerSentEvent(
        data=orjson.dumps(data).decode(),
        event=name,
        id=None if event_id is None else str(event_id),
    )


class LiveFeed:
    """One customer's feed: remembers what it sent and the profile's last fingerprint."""

    def __init__(self, customer_id: str, after: int, region: str = "US") -> None:
        self.customer_id, self.start_after, self.after = customer_id, after, after
        self.region = region
        self.sent: set[int] = set()
        self.fingerprint: str | None = None
        self.done = False

    async def poll(self, conn: PgConnection) -> list[ServerSentEvent]:
        """The events since the last poll, in order."""
        events: list[ServerSentEvent] = []
        state = await live.customer_state(conn, self.customer_id)
        if state is not None and state.merged_into is not None:
            survivor = await survivor_of(conn, self.customer_id)
            state = None if survivor is None else await live.customer_state(conn, survivor)
            if survivor is not None:
                self.customer_id, self.fingerprint = survivor, None
                events.append(sse_event("merged", {"customer_id": survivor}))
        if state is None:
            self.done = True
            return [*events, sse_event("gone", {"customer_id": self.customer_id})]
        high = await live.high_water(conn)
        rows = await live.appended_since(conn, self.customer_id, self.after)
        fresh = [(row_id, item) for row_id, item in rows if row_id not in self.sent]
        events += [
            sse_event("timeline", item.model_dump(mode="json"), row_id) for row_id, item in fresh
        ]
        self.sent.update(row_id for row_id, _ in fresh)
        if len(rows) == live.MAX_ROWS_PER_POLL:
            self.after = rows[-1][0]  # more are waiting: continue right after this batch
        else:
            self.after = max(self.start_after, self.after, high - live.LOOKBACK_IDS)
        self.sent = {row_id for row_id in self.sent if row_id > self.after}
        changed = self.fingerprint is not None and state.fingerprint != self.fingerprint
        if fresh or changed or (events and events[0].event == "merged"):
            profile = await load_profile(conn, self.customer_id, region=self.region)
            if profile is not None:
                events.append(sse_event("profile", profile.model_dump(mode="json")))
        self.fingerprint = state.fingerprint
        return events


async def _events(
    pool: ReadPool | None, feed: LiveFeed, interval: float, count: StreamCount
) -> AsyncIterator[ServerSentEvent]:
    count.open += 1
    try:
        yield sse_event("ready", {"customer_id": feed.customer_id})
        while not feed.done:
            await asyncio.sleep(interval)
            try:
                async with read_connection(pool) as conn, snapshot(conn):
                    events = await feed.poll(conn)
            except StoreUnavailable as exc:
                log.warning("stream_poll_failed", error_type=type(exc.__cause__ or exc).__name__)
                continue
            for event in events:
                yield event
    finally:
        count.open -= 1


#: `Last-Event-ID`: a reconnecting client resumes after the last event it received.
LastEventId = Annotated[
    str | None,
    Header(max_length=32, description="Resume after this event id (the last `id:` received)."),
]


def sse_responses(described: str, *statuses: int) -> dict[int | str, Any]:
    """The documented answers of a Server-Sent Events route: 200 `described`, and `statuses`."""
    return {
        200: {
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
            "description": described,
        },
        **responses(*statuses, described={503: "Database down, or too many live streams."}),
    }


def stream_slot(request: Request, settings: ApiSettings) -> StreamCount:
    """This process's stream count, or 503 when it already serves its maximum."""
    count = cast(StreamCount, request.app.state.streams)
    if count.open >= settings.max_streams:
        raise TooManyStreams("too many live streams on this server: retry shortly")
    return count


def sse_response(
    events: AsyncIterator[ServerSentEvent], settings: ApiSettings
) -> EventSourceResponse:
    """A live stream: keep-alive comments every `STREAM_HEARTBEAT`, never cached or buffered."""
    return EventSourceResponse(
        events,
        ping=settings.stream_heartbeat,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def resume_from(last_event_id: str | None) -> int | None:
    """The row id a reconnecting client's `Last-Event-ID` names, if it is one."""
    if last_event_id is None or not last_event_id.isdigit():
        return None
    value = int(last_event_id)
    return value if value <= _MAX_EVENT_ID else None


@router.get(
    "/customers/{customer_id}/stream",
    summary="Live updates for one customer (Server-Sent Events)",
    response_class=EventSourceResponse,
    responses=sse_responses(
        "`ready`, then `timeline`, `profile`, `merged` and `gone` events.", 401, 404, 422, 503
    ),
)
async def stream_customer(
    request: Request,
    agent: AgentReadDep,
    customer_id: CustomerId,
    last_event_id: LastEventId = None,
) -> EventSourceResponse:
    """New timeline items as they are written; a merged-away id streams its survivor."""
    settings = agent.settings
    count = stream_slot(request, settings)
    async with agent.connection() as db:
        async with snapshot(db):
            canonical = await survivor_of(db, customer_id)
            if canonical is None:
                raise NotFound("customer not found")
            start = resume_from(last_event_id)
            if start is None:
                start = await live.high_water(db)
        await agent.audit.record("stream_open", canonical, conn=db)
    feed = LiveFeed(canonical, start, settings.default_region)
    return sse_response(_events(agent.pool, feed, settings.stream_poll_interval, count), settings)
