"""`GET /v1/me/stream`: the signed-in agent's own Server-Sent Events: screen pops.

A CTI announces a call for an agent (`POST /call-centre/screen-pop` on the gateway, or Twilio
TaskRouter's reservation events); once the call's event is in a timeline, the pop reaches
every console this agent has open (the API key's name is the agent's name), on whichever API
process holds the stream (`api.pop_hub`), and never another agent's.

Events: `ready` (once), `pop` (`{pop_id, customer_id, event_id, rang_at}`, `id:` its row id, so
a reconnect may send `Last-Event-ID`). A console that opens during the call gets the pops of
the last `SCREEN_POP_MAX_AGE_S`. Comments (`: ping`) keep idle connections open.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import cast

from fastapi import APIRouter, Depends, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.deps import AgentReadDep, read_connection, reject_unknown_query
from api.pop_hub import PopHub
from api.routes.stream import (
    LastEventId,
    StreamCount,
    resume_from,
    sse_event,
    sse_response,
    sse_responses,
    stream_slot,
)
from profile_store.read.screen_pops import PopRow, agent_pops
from profile_store.storage.driver import ReadPool
from profile_store.storage.errors import StoreUnavailable

router = APIRouter(prefix="/v1", tags=["agent"], dependencies=[Depends(reject_unknown_query)])


def _pop(row: PopRow) -> ServerSentEvent:
    data = {
        "pop_id": row.pop_id,
        "customer_id": row.customer_id,
        "event_id": row.event_id,
        "rang_at": row.rang_at.isoformat(),
    }
    return sse_event("pop", data, row.id)


async def _recent(
    pool: ReadPool | None, agent: str, after: int, max_age: timedelta
) -> list[PopRow]:
    """The agent's pops since `after` that are still fresh (a console opening mid-call)."""
    try:
        async with read_connection(pool) as conn:
            return await agent_pops(conn, agent, after, datetime.now(UTC), max_age)
    except StoreUnavailable:
        return []  # the hub's next poll brings what is new


async def _events(
    hub: PopHub, pool: ReadPool | None, agent: str, after: int, count: StreamCount
) -> AsyncIterator[ServerSentEvent]:
    count.open += 1
    queue = hub.subscribe(agent, pool)  # before the catch-up read: nothing falls between
    sent: set[int] = set()
    try:
        yield sse_event("ready", {"agent": agent})
        for row in await _recent(pool, agent, after, hub.max_age):
            sent.add(row.id)
            yield _pop(row)
        while True:
            row = await queue.get()
            if row.id not in sent:
                sent.add(row.id)
                yield _pop(row)
    finally:
        hub.unsubscribe(agent, queue)
        count.open -= 1


@router.get(
    "/me/stream",
    summary="The signed-in agent's screen pops (Server-Sent Events)",
    response_class=EventSourceResponse,
    responses=sse_responses(
        "`ready`, then a `pop` for each call announced for this agent.", 401, 422, 503
    ),
)
async def agent_stream(
    request: Request, agent: AgentReadDep, last_event_id: LastEventId = None
) -> EventSourceResponse:
    """Calls announced for this key's agent, as they ring, each naming the caller's customer."""
    count = stream_slot(request, agent.settings)
    async with agent.connection() as db:
        await agent.audit.record("agent_stream_open", None, conn=db)
    hub = cast(PopHub, request.app.state.pops)
    after = resume_from(last_event_id) or 0
    events = _events(hub, agent.pool, agent.principal.name, after, count)
    return sse_response(events, agent.settings)
