"""The API's routers, one module per resource; `ROUTERS` in the order the app includes them.

`customers` (lookup, profile, links, timeline, web visits), `search` (and `/v1/me`), `stream`
(live updates), `agent_stream` (the agent's screen pops), `identity` (unmerge, manual merge),
`audit` (the audit trail), `privacy` (export, erasure), `deadletters`, `insights` and `health`
(probes and metrics). Their error responses and dependencies are shared from `api.errors` and
`api.deps`.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter

from api.routes import (
    agent_stream,
    audit,
    customers,
    deadletters,
    health,
    identity,
    insights,
    privacy,
    search,
    stream,
)

ROUTERS: Final[tuple[APIRouter, ...]] = (
    search.router,
    customers.router,
    identity.router,
    stream.router,
    agent_stream.router,
    audit.router,
    privacy.router,
    deadletters.router,
    insights.router,
    health.router,
)
