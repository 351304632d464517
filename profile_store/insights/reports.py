"""Read side of the insight: metrics (totals, per channel, per day and week, surveys per
journey, failed self-service per channel) and channel paths, as frozen DTOs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from profile_store.insights import surveys
from profile_store.insights.journeys import PATH_MEASURE, summarise
from profile_store.insights.matters import PATH_SEPARATOR
from profile_store.read.errors import InvalidQuery
from profile_store.read.types import UtcDatetime

MAX_DAYS: Final = 366
MAX_PATHS: Final = 50
#: Measures broken down by journey (their `detail`).
SURVEY_MEASURES: Final = frozenset(surveys.MEASURES)

Rates = dict[str, float | None]


class DayFigures(BaseModel):
    """One day's (or week's, from that Monday) figures."""

    model_config = ConfigDict(frozen=True)
    day: date
    figures: Rates


class MetricsReport(BaseModel):
    """Journey metrics over a date range: totals, per channel, per day and week, survey scores
    per journey, failed self-service per channel it failed to."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "from": "2026-11-01",
                    "to": "2026-11-21",
                    "channels": ["chat", "call_centre"],
                    "as_of": "2026-11-22T02:00:00Z",
                    "totals": {"contacts": 1200, "repeat_contact_rate": 18.5, "nps": 31.0},
                    "by_channel": {"chat": {"contacts": 700, "fcr_rate": 71.2}},
                    "by_day": [{"day": "2026-11-01", "figures": {"contacts": 55}}],
                    "by_week": [{"day": "2026-10-27", "figures": {"nps": 28.0}}],
                    "by_journey": {"one_contact": {"nps": 52.0}, "switched": {"nps": -21.0}},
                    "self_service_failed_to": {"call_centre": 41, "chat": 33},
                    "measures": {"repeat_contacts": 222, "contacts": 1200},
                }
            ]
        },
    )
    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    channels: list[str] | None
    as_of: UtcDatetime | None = Field(description="When the figures were last refreshed.")
    totals: Rates
    by_channel: dict[str, Rates]
    by_day: list[DayFigures]
    by_week: list[DayFigures] = Field(description="Per week, each named by its Monday.")
    by_journey: dict[str, Rates] = Field(
        description="NPS, CSAT and CES by what the customer went through on the matter they "
        "answered about: one_contact, repeated, switched, no_contact."
    )
    self_service_failed_to: dict[str, float] = Field(
        description="Help visits followed by a contact, by the channel of that contact."
    )
    measures: dict[str, float] = Field(description="The summed counts behind the rates.")


class PathCount(BaseModel):
    """A channel path matters took, and how many took it."""

    model_config = ConfigDict(frozen=True)
    path: str = Field(examples=["web -> chat -> call_centre"])
    channels: list[str]
    matters: int


class PathsReport(BaseModel):
    """Top channel paths over a date range."""

    model_config = ConfigDict(frozen=True)
    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    channels: list[str] | None
    matters: int
    paths: list[PathCount]


def check_range(start: date, end: date) -> None:
    """400 on an inverted or too long range."""
    if end < start:
        raise InvalidQuery("to: must not be before from")
    if (end - start) > timedelta(days=MAX_DAYS):
        raise InvalidQuery(f"from/to: at most {MAX_DAYS} days")


def channel_filter(channels: Sequence[str] | None) -> str:
    """The SQL condition of a channel filter (on `channel`), empty without one."""
    return "" if not channels else "AND channel = ANY(:channels)"


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


async def load_metrics(
    conn: AsyncConnection, start: date, end: date, channels: Sequence[str] | None
) -> MetricsReport:
    """Summed measures and their rates, overall and broken down."""
    check_range(start, end)
    sql = text(
        "SELECT day, channel, measure, detail, sum(value) AS value FROM insight_daily "  # noqa: S608
        f"WHERE day BETWEEN :start AND :end AND measure <> '{PATH_MEASURE}' "
        f"{channel_filter(channels)} GROUP BY day, channel, measure, detail"
    )
    params: dict[str, Any] = {"start": start, "end": end, "channels": list(channels or [])}
    rows = (await conn.execute(sql, params)).all()
    totals: dict[str, float] = defaultdict(float)
    per_channel: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    per_day: dict[date, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    per_week: dict[date, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    per_journey: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    failed_to: dict[str, float] = defaultdict(float)
    for day, channel, measure, detail, value in rows:
        totals[measure] += value
        per_channel[channel][measure] += value
        per_day[day][measure] += value
        per_week[_monday(day)][measure] += value
        if measure in SURVEY_MEASURES:
            per_journey[detail][measure] += value
        elif measure == "failed_self_service":
            failed_to[detail] += value
    as_of = (
        await conn.execute(text("SELECT max(as_of) FROM insight_refreshes"))
    ).scalar_one_or_none()
    return MetricsReport.model_validate(
        {
            "from": start,
            "to": end,
            "channels": list(channels) if channels else None,
            "as_of": as_of,
            "totals": summarise(totals),
            "by_channel": {c: summarise(v) for c, v in sorted(per_channel.items())},
            "by_day": [{"day": d, "figures": summarise(per_day[d])} for d in sorted(per_day)],
            "by_week": [{"day": d, "figures": summarise(per_week[d])} for d in sorted(per_week)],
            "by_journey": {
                j: surveys.summarise(per_journey[j]) for j in surveys.JOURNEYS if j in per_journey
            },
            "self_service_failed_to": dict(sorted(failed_to.items())),
            "measures": dict(sorted(totals.items())),
        }
    )


async def load_paths(
    conn: AsyncConnection, start: date, end: date, channels: Sequence[str] | None, limit: int
) -> PathsReport:
    """The most common paths (those through any of `channels`, if given)."""
    check_range(start, end)
    through = "AND string_to_array(detail, :sep) && CAST(:channels AS text[])" if channels else ""
    sql = text(
        "SELECT detail, sum(value) AS matters FROM insight_daily "  # noqa: S608
        f"WHERE measure = '{PATH_MEASURE}' AND day BETWEEN :start AND :end {through} "
        "GROUP BY detail ORDER BY matters DESC, detail"
    )
    params = {"start": start, "end": end, "sep": PATH_SEPARATOR, "channels": list(channels or [])}
    rows = (await conn.execute(sql, params)).all()
    paths = [PathCount(path=p, channels=p.split(PATH_SEPARATOR), matters=int(n)) for p, n in rows]
    return PathsReport.model_validate(
        {
            "from": start,
            "to": end,
            "channels": list(channels) if channels else None,
            "matters": sum(p.matters for p in paths),
            "paths": paths[:limit],
        }
    )
