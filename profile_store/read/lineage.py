"""Read side of merge lineage: why a profile holds each identifier and whom it absorbed.

Four statements on one psycopg connection (`profile_store.storage.driver`); run them in one
snapshot (`profile_store.storage.connections.snapshot`) so they describe the same moment.
"""

from __future__ import annotations

from typing import Final

from profile_store.domain.trust import REASON_UNVERIFIED, unverified
from profile_store.read.claims import claims_of, claims_sql
from profile_store.read.models import (
    ConflictOut,
    IdentifierRef,
    Lineage,
    LineageEvent,
    LinkOut,
    MergeOut,
)
from profile_store.read.search import display_name
from profile_store.storage.connections import Db, on_driver
from profile_store.storage.driver import PgConnection, fetch_all
from profile_store.storage.survivor import survivor_of

#: Identity conflicts listed per profile, oldest first.
MAX_CONFLICTS: Final = 500

# The trust level of the event that linked each identifier (no row: linked before trust).
_LINKS: Final = (
    "SELECT i.id_type, i.id_value, i.rule, i.event_id, i.first_seen, "
    "coalesce(t.trust, 'server') FROM identifiers i "
    "LEFT JOIN timeline_events t ON t.event_id = i.event_id "
    "WHERE i.customer_id = %(c)s ORDER BY i.first_seen, i.id_type, i.id_value"
)
# Survivors recorded in older merges may themselves have been merged since.
_MERGES: Final = (
    "SELECT merged_id, survivor_id, rule, event_id, identifiers, merged_at FROM merges "
    "WHERE survivor_id = %(c)s "
    "OR survivor_id IN (SELECT customer_id FROM customers WHERE merged_into = %(c)s) "
    "ORDER BY merged_at, id"
)
# A merge hands a customer's traits to its survivor, so a merged profile is named from the
# latest names its own events carried (`origin_customer_id` is where an event first landed).
_MERGED_NAMES: Final = (
    "SELECT DISTINCT ON (origin_customer_id) origin_customer_id, attributes -> 'traits' AS traits "
    "FROM timeline_events WHERE customer_id = %(c)s AND origin_customer_id = ANY(%(ids)s) "
    "AND attributes ? 'traits' ORDER BY origin_customer_id, occurred_at DESC, id DESC"
)
_CONFLICTS: Final = (
    "SELECT id_type, id_value, event_id, reason FROM identity_conflicts "  # noqa: S608
    f"WHERE customer_id = %(c)s ORDER BY recorded_at, event_id LIMIT {MAX_CONFLICTS}"
)
_CLAIMS: Final = f"SELECT {claims_sql('%(c)s')} AS claims"


# Only events on this profile's own timeline: a lineage never shows another customer's.
_EVENTS: Final = (
    "SELECT event_id, channel, kind, source, summary, occurred_at FROM timeline_events "
    "WHERE event_id = ANY(%(ids)s) AND customer_id = %(c)s"
)


async def load_lineage(db: Db | PgConnection, customer_id: str) -> Lineage | None:
    """Links and merges of the canonical customer behind `customer_id`; None if unknown."""
    async with on_driver(db) as conn:
        canonical = await survivor_of(conn, customer_id)
        if canonical is None:
            return None
        params = {"c": canonical}
        links = await fetch_all(conn, _LINKS, params)
        merges = await fetch_all(conn, _MERGES, params)
        refused = await fetch_all(conn, _CONFLICTS, params)
        named = {r.event_id for r in (*links, *merges, *refused)}
        events = await fetch_all(conn, _EVENTS, {"c": canonical, "ids": sorted(named)})
        merged_ids = sorted({m.merged_id for m in merges})
        names = {
            r.origin_customer_id: display_name(r.traits if isinstance(r.traits, dict) else {})
            for r in await fetch_all(conn, _MERGED_NAMES, {"c": canonical, "ids": merged_ids})
        }
        claimed = await fetch_all(conn, _CLAIMS, params)
    held = {(t, v) for t, v, *_ in links}
    claims = unverified(claims_of(claimed[0].claims), held, MAX_CONFLICTS)
    return Lineage(
        customer_id=canonical,
        links=[
            LinkOut(type=t, value=v, rule=r, event_id=e, first_seen=f, trust=trust)
            for t, v, r, e, f, trust in links
        ],
        merges=[
            MergeOut(
                merged_id=m.merged_id,
                merged_name=names.get(m.merged_id),
                survivor_id=m.survivor_id,
                rule=m.rule,
                event_id=m.event_id,
                identifiers=[IdentifierRef(**i) for i in m.identifiers],
                merged_at=m.merged_at,
            )
            for m in merges
        ],
        conflicts=[ConflictOut(type=t, value=v, event_id=e, reason=r) for t, v, e, r in refused]
        + [
            ConflictOut(type=c.type, value=c.value, event_id=c.event_id, reason=REASON_UNVERIFIED)
            for c in claims
        ],
        events={e.event_id: LineageEvent.model_validate(e._asdict()) for e in events},
    )
