"""Timeline rows as the writer stores them: inserts, newer revisions replacing stored items,
and what the store already holds for a batch's event ids."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from profile_store.storage.bulk import any_of, insert_timeline_rows
from profile_store.storage.tables import timeline_events
from profile_store.write.identity_rows import stored_identifiers
from schemas.events import REVISION_KEY, CanonicalEvent
from schemas.identifiers import Identifier


async def insert_timeline(
    conn: AsyncConnection, events: Sequence[CanonicalEvent], owners: dict[str, str]
) -> set[str]:
    """Insert the events as rows of their owners; the ids actually inserted."""
    rows = [
        {"event_id": e.event_id, "customer_id": owners[e.event_id], **row_values(e)} for e in events
    ]
    return await insert_timeline_rows(conn, rows)


def revision_of(event: CanonicalEvent) -> str | None:
    """The event's revision marker (a newer one replaces the stored item), if any."""
    value = event.attributes.get(REVISION_KEY)
    return value if isinstance(value, str) else None


def newest_per_event_id(events: Sequence[CanonicalEvent]) -> list[CanonicalEvent]:
    """One event per id: the highest revision, else the first seen."""
    chosen: dict[str, CanonicalEvent] = {}
    for e in events:
        held = chosen.get(e.event_id)
        if held is None or (revision_of(e) or "") > (revision_of(held) or ""):
            chosen[e.event_id] = e
    return list(chosen.values())


async def stored_versions(
    conn: AsyncConnection, event_ids: list[str]
) -> dict[str, tuple[str, tuple[Identifier, ...]]]:
    """`{event_id: (stored revision or "", stored identifiers)}` for ids already in timelines."""
    result = await conn.execute(
        sa.select(
            timeline_events.c.event_id,
            timeline_events.c.attributes[REVISION_KEY].astext,
            timeline_events.c.identifiers,
        ).where(any_of(timeline_events.c.event_id, event_ids))
    )
    made: dict[tuple[str, str], Identifier] = {}
    return {eid: (rev or "", stored_identifiers(idents, made)) for eid, rev, idents in result}


#: A revised item takes a new row id (an identity column may be set to DEFAULT) and write
#: time, as a fresh write would: live streams, which read rows above an id, and incremental
#: insight refreshes, which read rows written since a time, both see the change.
_REWRITTEN: Final = {"id": sa.literal_column("DEFAULT"), "written_at": sa.func.now()}


async def replace_revised(conn: AsyncConnection, events: Sequence[CanonicalEvent]) -> set[str]:
    """Replace stored items by newer revisions (compare-and-set on the stored revision)."""
    updated: set[str] = set()
    for e in events:
        rev = revision_of(e) or ""
        stmt = (
            sa.update(timeline_events)
            .where(
                timeline_events.c.event_id == e.event_id,
                sa.func.coalesce(timeline_events.c.attributes[REVISION_KEY].astext, "") < rev,
            )
            .values({**row_values(e), **_REWRITTEN})
            .returning(timeline_events.c.event_id)
        )
        updated.update((await conn.execute(stmt)).scalars())
    return updated


def row_values(e: CanonicalEvent) -> dict[str, Any]:
    """The `timeline_events` columns of an event, besides its id and owner."""
    return {
        "channel": e.channel.value,
        "kind": e.kind,
        "occurred_at": e.occurred_at,
        "received_at": e.received_at,
        "source": e.source,
        "summary": e.summary,
        "attributes": e.attributes,
        "identifiers": [{"type": i.type, "value": i.value} for i in e.identifiers],
        "trust": e.trust.value,
        "claims": [{"type": i.type, "value": i.value} for i in e.claims] if e.claims else None,
    }
