"""Read side of the insight: metrics, paths and the customers behind a figure (frozen DTOs)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from profile_store.insights.journeys import MEASURES, PATH_SEPARATOR, summarise
from profile_store.read.errors import InvalidQuery
from profile_store.read.types import UtcDatetime
from profile_store.storage.survivor import survivor_of

MAX_DAYS: Final = 366
MAX_PATHS: Final = 50
MAX_CUSTOMERS: Final = 500
#: Measures with customers behind them (everything but sums of hours).
COUNT_MEASURES: Final = tuple(m for m in MEASURES if m != "hours_to_purchase")

Rates = dict[str, float | None]


class DayFigures(BaseModel):
    """One day's figures."""

    model_config = ConfigDict(frozen=True)
    day: date
    figures: Rates


class MetricsReport(BaseModel):
    """Journey metrics over a date range: totals, per channel, per day."""

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
                    "measures": {"repeat_contacts": 222, "assisted_contacts": 1200},
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
    measures: dict[str, float] = Field(description="The summed counts behind the rates.")


class PathCount(BaseModel):
    """A channel path customers took before resolution, and how many episodes took it."""

    model_config = ConfigDict(frozen=True)
    path: str = Field(examples=["web -> chat -> call_centre"])
    channels: list[str]
    episodes: int


class PathsReport(BaseModel):
    """Top channel paths over a date range."""

    model_config = ConfigDict(frozen=True)
    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    channels: list[str] | None
    episodes: int
    paths: list[PathCount]


class FigureCustomer(BaseModel):
    """A customer behind a figure, with their share of it."""

    model_config = ConfigDict(frozen=True)
    customer_id: str
    value: float


class CustomersReport(BaseModel):
    """The customers behind one measure on one day (keyset-paginated by customer id)."""

    model_config = ConfigDict(frozen=True)
    measure: str
    day: date
    channel: str | None
    path: str | None
    customers: list[FigureCustomer]
    next_cursor: str | None


class SignalOut(BaseModel):
    """A moment of truth raised for a customer."""

    model_config = ConfigDict(frozen=True)
    rule: str = Field(examples=["detractor_recontact"])
    anchor_event_id: str
    raised_at: UtcDatetime
    detail: str
    customer_id: str


class SignalsReport(BaseModel):
    """A customer's signals, newest first (a badge on the profile card)."""

    model_config = ConfigDict(frozen=True)
    customer_id: str
    signals: list[SignalOut]


def check_range(start: date, end: date) -> None:
    """400 on an inverted or too long range."""
    if end < start:
        raise InvalidQuery("to: must not be before from")
    if (end - start) > timedelta(days=MAX_DAYS):
        raise InvalidQuery(f"from/to: at most {MAX_DAYS} days")


def _channel_filter(channels: Sequence[str] | None) -> str:
    return "" if not channels else "AND channel = ANY(:channels)"


async def load_metrics(
    conn: AsyncConnection, start: date, end: date, channels: Sequence[str] | None
) -> MetricsReport:
    """Summed measures and their rates, overall, per channel and per day."""
    check_range(start, end)
    sql = text(
        "SELECT day, channel, measure, sum(value) AS value FROM insight_daily "  # noqa: S608
        f"WHERE day BETWEEN :start AND :end AND measure <> 'path_episodes' "
        f"{_channel_filter(channels)} GROUP BY day, channel, measure"
    )
    params: dict[str, Any] = {"start": start, "end": end, "channels": list(channels or [])}
    rows = (await conn.execute(sql, params)).all()
    totals: dict[str, float] = defaultdict(float)
    per_channel: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    per_day: dict[date, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for day, channel, measure, value in rows:
        totals[measure] += value
        per_channel[channel][measure] += value
        per_day[day][measure] += value
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
        "SELECT detail, sum(value) AS episodes FROM insight_daily "  # noqa: S608
        f"WHERE measure = 'path_episodes' AND day BETWEEN :start AND :end {through} "
        "GROUP BY detail ORDER BY episodes DESC, detail"
    )
    params = {"start": start, "end": end, "sep": PATH_SEPARATOR, "channels": list(channels or [])}
    rows = (await conn.execute(sql, params)).all()
    paths = [PathCount(path=p, channels=p.split(PATH_SEPARATOR), episodes=int(n)) for p, n in rows]
    return PathsReport.model_validate(
        {
            "from": start,
            "to": end,
            "channels": list(channels) if channels else None,
            "episodes": sum(p.episodes for p in paths),
            "paths": paths[:limit],
        }
    )


async def load_customers(
    conn: AsyncConnection,
    measure: str,
    day: date,
    channel: str | None,
    path: str | None,
    limit: int,
    after: str | None,
) -> CustomersReport:
    """The customers contributing to `measure` on `day` (and `channel`, `path`)."""
    if measure not in COUNT_MEASURES:
        raise InvalidQuery(f"metric: must be one of {', '.join(COUNT_MEASURES)}")
    if path is not None and measure != "path_episodes":
        raise InvalidQuery("path: only with metric=path_episodes")
    conds = ["measure = :measure", "day = :day"]
    if channel is not None:
        conds.append("channel = :channel")
    if path is not None:
        conds.append("detail = :path")
    if after is not None:
        conds.append("customer_id > :after")
    sql = text(
        "SELECT customer_id, sum(value) AS value FROM insight_contributions "  # noqa: S608
        f"WHERE {' AND '.join(conds)} GROUP BY customer_id ORDER BY customer_id LIMIT :limit"
    )
    params = {"measure": measure, "day": day, "channel": channel, "path": path}
    rows = (await conn.execute(sql, {**params, "after": after, "limit": limit + 1})).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return CustomersReport(
        measure=measure,
        day=day,
        channel=channel,
        path=path,
        customers=[FigureCustomer(customer_id=c, value=v) for c, v in rows],
        next_cursor=rows[-1][0] if more else None,
    )


async def load_signals(conn: AsyncConnection, customer_id: str, limit: int) -> SignalsReport | None:
    """A customer's signals, including those raised on customers merged into it."""
    canonical = await survivor_of(conn, customer_id)
    if canonical is None:
        return None
    sql = text(
        """SELECT rule, anchor_event_id, raised_at, detail, customer_id FROM customer_signals
           WHERE customer_id = :cid
              OR customer_id IN (SELECT customer_id FROM customers WHERE merged_into = :cid)
           ORDER BY raised_at DESC, id DESC LIMIT :limit"""
    )
    rows = (await conn.execute(sql, {"cid": canonical, "limit": limit})).mappings().all()
    return SignalsReport(customer_id=canonical, signals=[SignalOut(**r) for r in rows])
