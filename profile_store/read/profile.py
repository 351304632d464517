"""The unified profile in one SQL statement: the customer (found by id or by identifier,
following merges), identifiers, merged ids, channel counts and the summary's rows.

An agent opens a profile on every call, so it is read in one round trip instead of one per
part; one statement is also one consistent snapshot without an explicit transaction. Each
subquery is served by the index its multi-statement form used (see `summary`: the partial
index predicates are the same SQL text).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import bindparam, text

from profile_store.domain.traits import flatten
from profile_store.domain.trust import unverified
from profile_store.read.claims import claims_of, claims_sql
from profile_store.read.errors import AmbiguousIdentifier
from profile_store.read.models import ChannelStats, ClaimOut, IdentifierOut, Profile
from profile_store.read.summary import (
    CONTACTS_SQL,
    CONVERSATION_WINDOW,
    CONVERSATIONS_SQL,
    ORDERS_SQL,
    RECENT_CAP,
    RECENT_DAYS,
    Message,
    latest_score,
    open_threads,
    order_out,
)
from profile_store.read.summary_models import ContactOut, ProfileSummary, RecentContacts
from profile_store.storage.connections import Db, on_driver
from profile_store.storage.driver import PgConnection, fetch_all, fetch_one, psycopg_sql
from profile_store.storage.survivor import by_id, canonical, chain_sql
from profile_store.storage.tables import TS
from schemas.identifiers import ORDER_ID, ORDER_SCOPE_SEPARATOR, PHONE
from schemas.phones import display_phone

_BY_ID: Final = by_id(":customer_id")
_BY_IDENTIFIER: Final = (
    "SELECT c.customer_id, c.merged_into FROM identifiers i "
    "JOIN customers c ON c.customer_id = i.customer_id "
    "WHERE i.id_type = :id_type AND i.id_value = :id_value"
)
_ROW: Final = "event_id, channel, kind, occurred_at, summary, attributes"
_NEWEST: Final = "ORDER BY t.occurred_at DESC, t.id DESC"

_PROFILE_SQL: Final = f"""
WITH RECURSIVE {{chain}},
canon AS (
    SELECT c.customer_id, c.first_seen, c.last_seen, c.traits, c.cx
    FROM chain JOIN customers c ON c.customer_id = chain.customer_id
    WHERE chain.merged_into IS NULL
    LIMIT 1
)
SELECT
    canon.customer_id, canon.first_seen, canon.last_seen, canon.traits, canon.cx,
    (SELECT coalesce(json_agg(json_build_array(i.id_type, i.id_value, i.first_seen)
                              ORDER BY i.id_type, i.id_value), '[]')
     FROM identifiers i WHERE i.customer_id = canon.customer_id) AS identifiers,
    (SELECT coalesce(json_agg(m.customer_id ORDER BY m.customer_id), '[]')
     FROM customers m WHERE m.merged_into = canon.customer_id) AS merged_ids,
    (SELECT coalesce(json_agg(json_build_array(ch.channel, ch.event_count, ch.last_at)
                              ORDER BY ch.channel), '[]')
     FROM customer_channels ch WHERE ch.customer_id = canon.customer_id) AS channels,
    (SELECT row_to_json(l) FROM (
        SELECT {_ROW} FROM timeline_events t
        WHERE t.customer_id = canon.customer_id AND {CONTACTS_SQL}
        {_NEWEST} LIMIT 1) AS l) AS last_contact,
    (SELECT coalesce(json_object_agg(w.channel, w.n), '{{{{}}}}') FROM (
        SELECT r.channel, count(*) AS n FROM (
            SELECT t.channel FROM timeline_events t
            WHERE t.customer_id = canon.customer_id AND t.occurred_at >= :since
            {_NEWEST} LIMIT {RECENT_CAP + 1}) AS r
        GROUP BY r.channel) AS w) AS recent,
    (SELECT coalesce(json_agg(json_build_array(m.event_id, m.channel, m.kind, m.occurred_at,
                                               m.summary, m.attributes)
                              ORDER BY m.occurred_at DESC, m.id DESC), '[]') FROM (
        SELECT t.id, {_ROW} FROM timeline_events t
        WHERE t.customer_id = canon.customer_id AND {CONVERSATIONS_SQL}
        {_NEWEST} LIMIT {CONVERSATION_WINDOW}) AS m) AS messages,
    (SELECT row_to_json(o) FROM (
        SELECT {_ROW} FROM timeline_events t
        WHERE t.customer_id = canon.customer_id AND {ORDERS_SQL}
        {_NEWEST} LIMIT 1) AS o) AS latest_order,
    {claims_sql("canon.customer_id")} AS claims,
    EXISTS (SELECT 1 FROM chain) AS known
FROM (SELECT 1) AS one LEFT JOIN canon ON true
"""  # noqa: S608 - module constants only; every value is a bind parameter
# The partial-index predicates name bare columns; inside the subqueries `t` is the only
# relation with those names, so they bind to it and the planner still matches the indexes.
PROFILE_BY_ID: Final = text(_PROFILE_SQL.format(chain=chain_sql(_BY_ID))).bindparams(
    bindparam("since", type_=TS)
)
PROFILE_BY_IDENTIFIER: Final = text(
    _PROFILE_SQL.format(chain=chain_sql(_BY_IDENTIFIER))
).bindparams(bindparam("since", type_=TS))
_BY_ID_SQL: Final = psycopg_sql(PROFILE_BY_ID)
_BY_IDENTIFIER_SQL: Final = psycopg_sql(PROFILE_BY_IDENTIFIER)


async def profile_by_id(
    conn: PgConnection, customer_id: str, now: datetime, region: str = "US"
) -> Profile | None:
    """The unified profile of `customer_id` (following merges to the survivor), or None;
    phones are displayed as read in `region`."""
    params = {"customer_id": customer_id, "since": now - timedelta(days=RECENT_DAYS)}
    return _found(await fetch_one(conn, _BY_ID_SQL, params), region)


async def profile_by_identifier(
    conn: PgConnection, id_type: str, id_value: str, now: datetime, region: str = "US"
) -> Profile | None:
    """The profile of whoever holds an already-normalised identifier, or None."""
    params = {"id_type": id_type, "id_value": id_value, "since": now - timedelta(days=RECENT_DAYS)}
    return _found(await fetch_one(conn, _BY_IDENTIFIER_SQL, params), region)


async def load_profile(
    db: Db | PgConnection, customer_id: str, now: datetime | None = None, region: str = "US"
) -> Profile | None:
    """The unified profile of `customer_id` (following merges to the survivor), or None;
    its summary counts recent contacts as of `now` (default: the current time)."""
    async with on_driver(db) as conn:
        return await profile_by_id(conn, customer_id, now or datetime.now(UTC), region)


#: Owners of an order number stored with its shop (`1001@acme.myshopify.com`), found by the
#: `lower(id_value) text_pattern_ops` index: `low` is `1001@`, `high` the next prefix.
_SCOPED_ORDER_OWNERS: Final = (
    "SELECT DISTINCT coalesce(c.merged_into, c.customer_id) AS customer_id "
    "FROM identifiers i JOIN customers c ON c.customer_id = i.customer_id "
    "WHERE i.id_type = %(id_type)s AND lower(i.id_value) ~>=~ %(low)s "
    "AND lower(i.id_value) ~<~ %(high)s LIMIT 3"
)
_AFTER_SEPARATOR: Final = chr(ord(ORDER_SCOPE_SEPARATOR) + 1)


async def find_profile(
    db: Db | PgConnection,
    id_type: str,
    value: str,
    now: datetime | None = None,
    region: str = "US",
) -> Profile | None:
    """The profile of whoever holds an already-normalised identifier, or None.

    An order number typed without its shop (`1001`) also finds the order stored with one
    (`1001@acme.myshopify.com`); when two shops' customers hold it, `AmbiguousIdentifier`.
    """
    at = now or datetime.now(UTC)
    async with on_driver(db) as conn:
        profile = await profile_by_identifier(conn, id_type, value, at, region)
        if profile is not None or id_type != ORDER_ID or ORDER_SCOPE_SEPARATOR in value:
            return profile
        prefix = value.lower() + ORDER_SCOPE_SEPARATOR
        params = {"id_type": id_type, "low": prefix, "high": prefix[:-1] + _AFTER_SEPARATOR}
        owners = {row.customer_id for row in await fetch_all(conn, _SCOPED_ORDER_OWNERS, params)}
        if len(owners) > 1:
            raise AmbiguousIdentifier(
                f"order {value} is held by customers of {len(owners)} shops: "
                f"type it with the shop (like {value}{ORDER_SCOPE_SEPARATOR}shop.myshopify.com) "
                "or use search"
            )
        return await profile_by_id(conn, owners.pop(), at, region) if owners else None


def _found(row: Any, region: str) -> Profile | None:
    """The profile from the statement's one row: None for an unknown id or identifier,
    `MergeChainBroken` for a known one whose merge chain does not end."""
    assert row is not None  # the statement always returns one row
    if canonical(row.customer_id, row.known) is None:
        return None
    return _profile(row, region)


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _contact(item: Mapping[str, Any]) -> ContactOut:
    return ContactOut.model_validate(item)


def _profile(row: Any, region: str) -> Profile:
    cx: dict[str, Any] = dict(row.cx or {})
    counts: dict[str, int] = row.recent
    total = sum(counts.values())
    messages = (
        Message(event_id, channel, kind, _at(at), summary, attrs if isinstance(attrs, dict) else {})
        for event_id, channel, kind, at, summary, attrs in row.messages
    )
    summary = ProfileSummary(
        last_contact=_contact(row.last_contact) if row.last_contact else None,
        recent=RecentContacts(
            days=RECENT_DAYS,
            total=min(total, RECENT_CAP),
            by_channel=dict(sorted(counts.items())),
            capped=total > RECENT_CAP,
        ),
        open_threads=open_threads(messages),
        latest_order=order_out(row.latest_order) if row.latest_order else None,
        latest_score=latest_score(cx),
    )
    identifiers = [
        IdentifierOut(
            type=t,
            value=v,
            display=display_phone(v, region) if t == PHONE else v,
            first_seen=_at(at),
        )
        for t, v, at in row.identifiers
    ]
    claims = unverified(claims_of(row.claims), {(i.type, i.value) for i in identifiers})
    return Profile(
        customer_id=row.customer_id,
        identifiers=identifiers,
        merged_ids=row.merged_ids,
        traits=flatten(row.traits or {}),
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        channels={
            channel: ChannelStats(count=n, last_at=_at(at) if at else None)
            for channel, n, at in row.channels
        },
        cx=cx,
        summary=summary,
        unverified_claims=[
            ClaimOut(type=c.type, value=c.value, event_id=c.event_id, at=c.at) for c in claims
        ],
    )
