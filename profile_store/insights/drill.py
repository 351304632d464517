"""Behind a figure: the customers who count in it (with their names), the events that made one
customer count, and a customer's moments-of-truth signals (frozen DTOs)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Final

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from profile_store.insights.journeys import MEASURES, SUM_MEASURES, explain
from profile_store.insights.reports import check_range
from profile_store.insights.stream import BY_TIME, journey_event, select_events
from profile_store.read.errors import InvalidQuery
from profile_store.read.summary_models import ContactOut
from profile_store.read.types import UtcDatetime
from profile_store.storage.survivor import survivor_of

MAX_CUSTOMERS: Final = 500
MAX_EVIDENCE_EVENTS: Final = 200
#: Measures with customers behind them (everything but sums of hours and contacts).
COUNT_MEASURES: Final = tuple(m for m in MEASURES if m not in SUM_MEASURES)
#: A customer's display name from their traits (`T` is a `customers` row).
_NAME: Final = (
    "nullif(btrim(coalesce(T.traits -> 'name' ->> 'value', concat_ws(' ', "
    "T.traits -> 'first_name' ->> 'value', T.traits -> 'last_name' ->> 'value'))), '')"
)

#: An email (else a phone) of the customer `x` names, or of its survivor.
_CONTACT: Final = (
    "(SELECT i.id_value FROM identifiers i "
    "WHERE i.customer_id = coalesce(c.merged_into, x.customer_id) "
    "AND i.id_type IN ('email', 'phone') ORDER BY i.id_type, i.id_value LIMIT 1)"
)


class FigureCustomer(BaseModel):
    """A customer behind a figure: id, name (when known), an email or phone to tell an unnamed
    one apart, and their share of the figure."""

    model_config = ConfigDict(frozen=True)
    customer_id: str
    name: str | None = Field(examples=["Maria Lopez"])
    contact: str | None = Field(examples=["maria.lopez@example.com"])
    value: float


class CustomersReport(BaseModel):
    """The customers behind one measure over a range (keyset-paginated by customer id)."""

    model_config = ConfigDict(frozen=True)
    measure: str
    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    channel: str | None
    detail: str | None
    customers: list[FigureCustomer]
    next_cursor: str | None


class EvidenceItem(BaseModel):
    """One day's contribution of the customer to the measure, and its events in time order."""

    model_config = ConfigDict(frozen=True)
    day: date
    channel: str
    detail: str
    value: float
    events: list[ContactOut] = Field(
        description="The events behind it, as the timeline names them."
    )


class EvidenceReport(BaseModel):
    """Why a customer counts in a measure over a range (as of the last refresh)."""

    model_config = ConfigDict(frozen=True)
    customer_id: str
    measure: str
    as_of: UtcDatetime
    items: list[EvidenceItem]


class SignalOut(BaseModel):
    """A moment of truth raised for a customer."""

    model_config = ConfigDict(frozen=True)
    rule: str = Field(examples=["unanswered_email"])
    anchor_event_id: str
    raised_at: UtcDatetime
    detail: str
    customer_id: str


class SignalsReport(BaseModel):
    """A customer's signals, newest first (a badge on the profile card)."""

    model_config = ConfigDict(frozen=True)
    customer_id: str
    signals: list[SignalOut]


def check_measure(measure: str) -> None:
    """400 naming the parameter for a measure without customers behind it."""
    if measure not in COUNT_MEASURES:
        raise InvalidQuery(f"metric: must be one of {', '.join(COUNT_MEASURES)}")


async def load_customers(
    conn: AsyncConnection,
    measure: str,
    span: tuple[date, date],
    channel: str | None,
    detail: str | None,
    limit: int,
    after: str | None,
) -> CustomersReport:
    """The customers contributing to `measure` over `span` (and `channel`, `detail`)."""
    check_measure(measure)
    check_range(*span)
    conds = ["measure = :measure", "day BETWEEN :start AND :end"]
    for name, value in (("channel", channel), ("detail", detail), ("after", after)):
        if value is not None:
            conds.append("customer_id > :after" if name == "after" else f"{name} = :{name}")
    inner = (
        "SELECT customer_id, sum(value) AS value FROM insight_contributions "  # noqa: S608
        f"WHERE {' AND '.join(conds)} GROUP BY customer_id ORDER BY customer_id LIMIT :limit"
    )
    sql = text(
        f"SELECT x.customer_id, coalesce({_NAME.replace('T.', 's.')}, "  # noqa: S608
        f"{_NAME.replace('T.', 'c.')}) AS name, {_CONTACT} AS contact, x.value FROM ({inner}) x "
        "LEFT JOIN customers c ON c.customer_id = x.customer_id "
        "LEFT JOIN customers s ON s.customer_id = c.merged_into ORDER BY x.customer_id"
    )
    params = {
        "measure": measure,
        "start": span[0],
        "end": span[1],
        "channel": channel,
        "detail": detail,
        "after": after,
        "limit": limit + 1,
    }
    rows = (await conn.execute(sql, params)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return CustomersReport.model_validate(
        {
            "measure": measure,
            "from": span[0],
            "to": span[1],
            "channel": channel,
            "detail": detail,
            "customers": [
                FigureCustomer(customer_id=c, name=n, contact=k, value=v) for c, n, k, v in rows
            ],
            "next_cursor": rows[-1][0] if more else None,
        }
    )


_MINE: Final = (
    "WHERE e.customer_id = :cid "
    "OR e.customer_id IN (SELECT customer_id FROM customers WHERE merged_into = :cid)"
)


async def load_evidence(
    conn: AsyncConnection,
    customer_id: str,
    measure: str,
    span: tuple[date, date],
    channel: str | None,
    detail: str | None,
) -> EvidenceReport | None:
    """Recompute one customer's measures with the same definitions as of the last refresh, and
    return the events behind `measure` over `span`; None for an unknown customer."""
    check_measure(measure)
    check_range(*span)
    canonical = await survivor_of(conn, customer_id)
    if canonical is None:
        return None
    as_of = (await conn.execute(text("SELECT max(as_of) FROM insight_refreshes"))).scalar()
    as_of = as_of or datetime.now(UTC)
    rows = (await conn.execute(text(select_events(_MINE, BY_TIME)), {"cid": canonical})).all()
    events = [journey_event(r) for r in rows]
    wanted = sorted(
        (key, value, ids)
        for key, (value, ids) in explain(events, as_of).items()
        if key[2] == measure
        and span[0] <= key[0] <= span[1]
        and (channel is None or key[1] == channel)
        and (detail is None or key[3] == detail)
    )
    ids = list(dict.fromkeys(i for _k, _v, found in wanted for i in found))[:MAX_EVIDENCE_EVENTS]
    found = await _events(conn, ids)
    items = [
        EvidenceItem(
            day=key[0],
            channel=key[1],
            detail=key[3],
            value=value,
            events=[found[i] for i in event_ids if i in found],
        )
        for key, value, event_ids in wanted
    ]
    return EvidenceReport(customer_id=canonical, measure=measure, as_of=as_of, items=items)


async def _events(conn: AsyncConnection, ids: list[str]) -> dict[str, ContactOut]:
    if not ids:
        return {}
    sql = text(
        "SELECT event_id, channel, kind, occurred_at, summary FROM timeline_events "
        "WHERE event_id = ANY(:ids)"
    )
    rows = (await conn.execute(sql, {"ids": ids})).mappings().all()
    return {r["event_id"]: ContactOut(**r) for r in rows}


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
