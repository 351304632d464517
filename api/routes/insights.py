"""`/v1/insights` journey metrics, paths and the customers behind a figure, and a customer's
moments-of-truth signals (role agent or admin)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.auth import AgentPrincipal
from api.deps import EngineDep
from api.errors import NotFound, responses
from api.params import PRINTABLE, CustomerId
from profile_store.insights import reports
from profile_store.insights.reports import (
    CustomersReport,
    MetricsReport,
    PathsReport,
    SignalsReport,
)
from profile_store.storage.connections import read_snapshot
from schemas import Channel

router = APIRouter(
    prefix="/v1",
    tags=["insights"],
    responses=responses(
        400, 401, 403, 422, 503, described={400: "An impossible date range (named)."}
    ),
)

From = Annotated[
    date, Query(alias="from", description="First day (UTC), inclusive.", examples=["2026-11-01"])
]
To = Annotated[date, Query(description="Last day (UTC), inclusive.", examples=["2026-11-21"])]
Channels = Annotated[
    list[Channel] | None,
    Query(alias="channel", max_length=6, description="Only these channels (repeatable)."),
]
Metric = Literal[reports.COUNT_MEASURES]  # type: ignore[valid-type]


def _names(channels: list[Channel] | None) -> list[str] | None:
    return [c.value for c in channels] if channels else None


@router.get(
    "/insights/metrics",
    response_model=MetricsReport,
    response_model_by_alias=True,
    summary="Journey metrics per day and channel",
    description=(
        "Contact volume, repeat-contact rate (another assisted contact within 7 days before), "
        "first-contact-resolution proxy (no other assisted contact within 7 days after; only "
        "contacts whose 7 days have passed), channel-switch rate, NPS and CSAT by the channel "
        "asked about and by the last channel touched before the survey, mean hours from first "
        "contact to first purchase. Rates are percentages; `measures` holds the counts."
    ),
)
async def get_metrics(
    principal: AgentPrincipal, engine: EngineDep, start: From, to: To, channel: Channels = None
) -> MetricsReport:
    reports.check_range(start, to)
    async with read_snapshot(engine) as db:
        return await reports.load_metrics(db, start, to, _names(channel))


@router.get(
    "/insights/paths",
    response_model=PathsReport,
    response_model_by_alias=True,
    summary="The channel paths customers took before resolution",
    description="Episodes (assisted contacts each within 7 days of the previous, with the web "
    "visit just before) by path, most common first; `channel` keeps paths through it.",
)
async def get_paths(
    principal: AgentPrincipal,
    engine: EngineDep,
    start: From,
    to: To,
    channel: Channels = None,
    limit: Annotated[int, Query(ge=1, le=reports.MAX_PATHS)] = 10,
) -> PathsReport:
    reports.check_range(start, to)
    async with read_snapshot(engine) as db:
        return await reports.load_paths(db, start, to, _names(channel), limit)


@router.get(
    "/insights/customers",
    response_model=CustomersReport,
    summary="The customers behind a figure",
    description="Who counted in `metric` on `day` (and `channel`, `path`), by customer id; "
    "page on with `cursor` = the previous `next_cursor`.",
)
async def get_figure_customers(
    principal: AgentPrincipal,
    engine: EngineDep,
    metric: Annotated[Metric, Query(description="A measure, e.g. repeat_contacts.")],
    day: Annotated[date, Query(examples=["2026-11-03"])],
    channel: Annotated[Channel | None, Query()] = None,
    path: Annotated[
        str | None,
        Query(max_length=200, pattern=PRINTABLE, description="With metric=path_episodes."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=reports.MAX_CUSTOMERS)] = 100,
    cursor: Annotated[str | None, Query(max_length=200, pattern=PRINTABLE)] = None,
) -> CustomersReport:
    async with read_snapshot(engine) as db:
        return await reports.load_customers(
            db, metric, day, channel.value if channel else None, path, limit, cursor
        )


@router.get(
    "/customers/{customer_id}/signals",
    response_model=SignalsReport,
    tags=["customers"],
    summary="A customer's moments of truth (the profile card's badge)",
    responses=responses(404),
)
async def get_signals(
    principal: AgentPrincipal,
    engine: EngineDep,
    customer_id: CustomerId,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> SignalsReport:
    """Signals raised on this customer or on customers merged into it, newest first."""
    async with read_snapshot(engine) as db:
        report = await reports.load_signals(db, customer_id, limit)
    if report is None:
        raise NotFound("customer not found")
    return report
