"""Web activity grouped into visits, for the console's contacts-first view: page views and
other web events with gaps of at most 30 minutes are one visit (as in the insight's contact
definition), newest first.

One statement reads a bounded number of a customer's web events (newest first, before
`until`, through `ix_timeline_customer_time`); `group_visits` is the pure rule. A visit cut
by the bound is marked partial, and `next_until` continues before the oldest visit returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from profile_store.read.errors import InvalidQuery
from profile_store.read.view_models import VISIT_EVENTS_LISTED, Visit, VisitEvent, VisitsPage
from profile_store.storage.driver import PgConnection, fetch_all
from profile_store.storage.survivor import survivor_of

VISIT_GAP: Final = timedelta(minutes=30)
#: Web events read per request; a visit cut here is partial and continues on the next one.
MAX_SCAN: Final = 2000
DEFAULT_VISITS: Final = 20
MAX_VISITS: Final = 50

_WEB_ROWS: Final = (
    "SELECT event_id, kind, occurred_at, summary FROM timeline_events t "
    "WHERE t.customer_id = %(c)s AND t.channel = 'web' {until}"
    "ORDER BY t.occurred_at DESC, t.id DESC LIMIT %(scan)s"
)


@dataclass(frozen=True)
class WebHit:
    """One web event as a visit lists it."""

    event_id: str
    kind: str
    occurred_at: datetime
    summary: str


def group_visits(newest_first: Sequence[WebHit], gap: timedelta = VISIT_GAP) -> list[list[WebHit]]:
    """Split events (newest first) wherever two consecutive ones are more than `gap` apart."""
    visits: list[list[WebHit]] = []
    for hit in newest_first:
        if visits and visits[-1][-1].occurred_at - hit.occurred_at <= gap:
            visits[-1].append(hit)
        else:
            visits.append([hit])
    return visits


def visits_page(
    newest_first: Sequence[WebHit], more: bool, limit: int = DEFAULT_VISITS
) -> VisitsPage:
    """The page for events read newest first (`more`: the read stopped at its bound)."""
    groups = group_visits(newest_first)
    # The oldest visit may go on past the bound: left for the next page, unless it is the
    # only one (then it is shown, marked partial).
    partial = more and len(groups) == 1
    if more and len(groups) > 1:
        groups.pop()
    if len(groups) > limit:
        groups, more = groups[:limit], True
    items = [_visit(g, partial and i == len(groups) - 1) for i, g in enumerate(groups)]
    return VisitsPage(items=items, next_until=items[-1].started_at if more and items else None)


def _visit(hits: list[WebHit], partial: bool) -> Visit:
    return Visit(
        started_at=hits[-1].occurred_at,
        ended_at=hits[0].occurred_at,
        events=len(hits),
        listed=[
            VisitEvent(
                event_id=h.event_id, kind=h.kind, occurred_at=h.occurred_at, summary=h.summary
            )
            for h in hits[:VISIT_EVENTS_LISTED]
        ],
        partial=partial,
    )


async def visits_for(
    conn: PgConnection,
    customer_id: str,
    until: datetime | None = None,
    limit: int = DEFAULT_VISITS,
) -> tuple[str | None, VisitsPage]:
    """The canonical id behind `customer_id` and its newest web visits before `until`;
    `(None, empty page)` for an unknown customer."""
    if not 1 <= limit <= MAX_VISITS:
        raise InvalidQuery(f"limit must be between 1 and {MAX_VISITS}")
    if until is not None and until.utcoffset() is None:
        raise InvalidQuery("until must include a timezone")
    canonical = await survivor_of(conn, customer_id)
    if canonical is None:
        return None, VisitsPage(items=[])
    params = {"c": canonical, "scan": MAX_SCAN + 1, "until": until}
    sql = _WEB_ROWS.format(until="" if until is None else "AND t.occurred_at < %(until)s ")
    rows = await fetch_all(conn, sql, params)
    hits = [WebHit(r.event_id, r.kind, r.occurred_at, r.summary) for r in rows[:MAX_SCAN]]
    return canonical, visits_page(hits, len(rows) > MAX_SCAN, limit)
