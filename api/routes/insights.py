"""`/v1/insights` journey metrics, paths, the customers behind a figure and the events that
made one of them count, and a customer's moments-of-truth signals (role agent or admin)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from api.auth import AgentPrincipal
from api.deps import EngineDep
from api.errors import NotFound, responses
from api.params import PRINTABLE, CustomerId
from profile_store.insights import drill, reports
from profile_store.insights.drill import CustomersReport, EvidenceReport, SignalsReport
from profile_store.insights.reports import MetricsReport, PathsReport
from profile_store.read.errors import InvalidQuery
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
Metric = Literal[drill.COUNT_MEASURES]  # type: ignore[valid-type]
MetricParam = Annotated[Metric, Query(description="A measure, e.g. repeat_contacts.")]
Detail = Annotated[
    str | None,
    Query(
        max_length=200,
        pattern=PRINTABLE,
        description="The measure's detail: a path (path_matters), a journey (survey measures: "
        "one_contact, repeated, switched, no_contact), the channel a help visit failed to "
        "(failed_self_service).",
    ),
]
Day = Annotated[date | None, Query(description="One day (instead of from/to).")]
OptFrom = Annotated[date | None, Query(alias="from", description="First day, inclusive.")]
OptTo = Annotated[date | None, Query(description="Last day, inclusive.")]
OneChannel = Annotated[Channel | None, Query()]


def _names(channels: list[Channel] | None) -> list[str] | None:
    return [c.value for c in channels] if channels else None


@dataclass(frozen=True)
class Figure:
    """A figure to look behind: a measure over a span of days, maybe one channel and detail."""

    metric: str
    span: tuple[date, date]
    channel: str | None
    detail: str | None


def _figure(
    metric: MetricParam,
    day: Day = None,
    start: OptFrom = None,
    to: OptTo = None,
    channel: OneChannel = None,
    detail: Detail = None,
) -> Figure:
    if day is not None and start is None and to is None:
        span = (day, day)
    elif day is None and start is not None and to is not None:
        reports.check_range(start, to)
        span = (start, to)
    else:
        raise InvalidQuery("day, or from and to: give one day or a range")
    return Figure(metric, span, channel.value if channel else None, detail)


FigureDep = Annotated[Figure, Depends(_figure)]


@router.get(
    "/insights/metrics",
    response_model=MetricsReport,
    response_model_by_alias=True,
    summary="Journey metrics per day, week and channel",
    description=(
        "Contacts (a customer reaching a person: calls, inbound emails, chats; never a "
        "purchase or a page view), repeat-contact rate (a contact continuing a matter: same "
        "order, ticket, thread or chat, or within 7 days without one that differs), "
        "first-contact resolution (a matter's first contact with no other within 7 days; "
        "counted once they have passed), channel-switch rate (matters that moved between "
        "assisted channels or came from failed self-service), failed self-service (help "
        "visits followed by a contact within 24 h), contacts per matter, NPS, CSAT and CES "
        "by the channel asked about and by journey, mean hours from first touch to first "
        "purchase by the channel of the order. Rates are percentages; `measures` holds the "
        "counts. Definitions and sources: README, CX insight."
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
    summary="The channel paths matters took",
    description="Matters (over: no contact for 7 days) by their channel path, `web` first "
    "when they came from failed self-service, most common first; `channel` keeps paths "
    "through it.",
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
    response_model_by_alias=True,
    summary="The customers behind a figure",
    description="Who counted in `metric` on `day` or from `from` to `to` (and `channel`, "
    "`detail`), with their names; page on with `cursor` = the previous `next_cursor`.",
)
async def get_figure_customers(
    principal: AgentPrincipal,
    engine: EngineDep,
    figure: FigureDep,
    limit: Annotated[int, Query(ge=1, le=drill.MAX_CUSTOMERS)] = 100,
    cursor: Annotated[str | None, Query(max_length=200, pattern=PRINTABLE)] = None,
) -> CustomersReport:
    f = figure
    async with read_snapshot(engine) as db:
        return await drill.load_customers(db, f.metric, f.span, f.channel, f.detail, limit, cursor)


@router.get(
    "/insights/customers/{customer_id}/evidence",
    response_model=EvidenceReport,
    summary="The events that made a customer count in a figure",
    description="The customer's timeline through the same definitions, as of the last "
    "refresh: for each day (and channel, detail) they count in `metric`, the events behind "
    "it (a repeat contact and the one it repeats, the help page and the call after it...).",
    responses=responses(404),
)
async def get_evidence(
    principal: AgentPrincipal, engine: EngineDep, customer_id: CustomerId, figure: FigureDep
) -> EvidenceReport:
    f = figure
    async with read_snapshot(engine) as db:
        report = await drill.load_evidence(db, customer_id, f.metric, f.span, f.channel, f.detail)
    if report is None:
        raise NotFound("customer not found")
    return report


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
        report = await drill.load_signals(db, customer_id, limit)
    if report is None:
        raise NotFound("customer not found")
    return report
