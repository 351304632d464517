"""`/v1/customers`: identifier lookup, profile, links, timeline, web visits (role agent or admin),
each read and its audit entry on one connection of the agent's read pool."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from api.deps import AgentReadDep, reject_unknown_query
from api.errors import Conflict, NotFound, responses
from api.params import PRINTABLE, CustomerId, Kind
from profile_store.read import cursors, timeline, visits
from profile_store.read import profile as profiles
from profile_store.read.errors import AmbiguousIdentifier
from profile_store.read.lineage import load_lineage
from profile_store.read.models import Lineage, Profile, TimelinePage
from profile_store.read.view_models import VisitsPage
from profile_store.storage.connections import snapshot
from schemas import Channel, normalise_identifier

router = APIRouter(
    prefix="/v1",
    tags=["customers"],
    responses=responses(401, 403, 422, 503),
    dependencies=[Depends(reject_unknown_query)],
)


@router.get(
    "/customers/lookup",
    response_model=Profile,
    summary="Find the canonical profile by any identifier",
    responses=responses(
        404,
        400,
        409,
        described={
            400: "Not a valid identifier of that type.",
            409: "An order number held by customers of several shops: add the shop.",
        },
    ),
)
async def lookup_customer(
    agent: AgentReadDep,
    id_type: Annotated[
        str,
        Query(
            alias="type",
            min_length=1,
            max_length=64,
            description="Identifier type: email, phone, user_id, loyalty_id, order_id...",
            examples=["phone"],
        ),
    ],
    value: Annotated[
        str,
        Query(
            min_length=1,
            max_length=512,
            pattern=PRINTABLE,
            description="In any format the normaliser accepts; national phone numbers use "
            "the configured default region.",
            examples=["(415) 555-0100"],
        ),
    ],
) -> Profile:
    """The profile of whoever holds the identifier, e.g. a phone typed as `415.555.0100`."""
    normalised = normalise_identifier(id_type, value, agent.settings.default_region)
    async with agent.connection() as db:
        try:
            profile = await profiles.find_profile(
                db, id_type, normalised, region=agent.settings.default_region
            )
        except AmbiguousIdentifier as exc:
            raise Conflict(str(exc)) from None
        found = profile.customer_id if profile is not None else None
        detail = {"type": id_type, "found": found is not None}
        await agent.audit.record("lookup", found, detail, conn=db)
    if profile is None:
        raise NotFound("no customer has this identifier")
    return profile


@router.get(
    "/customers/{customer_id}",
    response_model=Profile,
    summary="A customer's unified profile",
    responses=responses(404),
)
async def get_customer(agent: AgentReadDep, customer_id: CustomerId) -> Profile:
    """Identifiers, merged ids, traits, first/last seen, per-channel counts and CX scores."""
    async with agent.connection() as db:
        profile = await profiles.load_profile(db, customer_id, region=agent.settings.default_region)
        if profile is None:
            raise NotFound("customer not found")
        await agent.audit.record("profile_view", profile.customer_id, conn=db)
    return profile


@router.get(
    "/customers/{customer_id}/links",
    response_model=Lineage,
    summary="Why the profile holds each identifier, and whom it absorbed",
    responses=responses(404),
)
async def get_links(agent: AgentReadDep, customer_id: CustomerId) -> Lineage:
    """Each identifier with the rule and event that linked it; each merge with its cause."""
    async with agent.connection() as db:
        async with snapshot(db):
            lineage = await load_lineage(db, customer_id)
        if lineage is None:
            raise NotFound("customer not found")
        await agent.audit.record("links_view", lineage.customer_id, conn=db)
    return lineage


@router.get(
    "/customers/{customer_id}/timeline",
    response_model=TimelinePage,
    summary="A customer's interactions, newest first",
    responses=responses(404, 400, described={400: "Invalid cursor or time range."}),
)
async def get_timeline(
    agent: AgentReadDep,
    customer_id: CustomerId,
    channel: Annotated[
        list[Channel] | None,
        Query(
            max_length=timeline.MAX_FILTER_VALUES,
            description="Only these channels (repeat the parameter for several).",
        ),
    ] = None,
    kind: Annotated[
        list[Kind] | None,
        Query(
            max_length=timeline.MAX_FILTER_VALUES,
            description="Only these kinds, e.g. email_received (repeat for several).",
        ),
    ] = None,
    since: Annotated[
        AwareDatetime | None,
        Query(description="Inclusive lower bound on occurred_at (ISO 8601 with timezone)."),
    ] = None,
    until: Annotated[
        AwareDatetime | None,
        Query(description="Exclusive upper bound on occurred_at (ISO 8601 with timezone)."),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=timeline.MAX_LIMIT, description="Page size.")
    ] = timeline.DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(
            max_length=cursors.MAX_CURSOR_LENGTH,
            description="The previous page's `next_cursor`, unchanged.",
        ),
    ] = None,
) -> TimelinePage:
    """Keyset-paginated timeline; a merged-away id answers with the survivor's timeline."""
    if cursor is not None:
        cursors.decode_cursor(cursor)  # a bad cursor is a 400 even while the database is down
    async with agent.connection() as db:
        canonical, page = await timeline.timeline_for(
            db,
            customer_id,
            channel=[c.value for c in channel] if channel else None,
            kind=kind or None,
            since=since,
            until=until,
            limit=limit,
            cursor=cursor,
        )
        if canonical is None:
            raise NotFound("customer not found")
        detail = {
            "page": "next" if cursor else "first",
            "channel": sorted(c.value for c in channel or ()),
        }
        await agent.audit.record("timeline_view", canonical, detail, conn=db)
    return page


@router.get(
    "/customers/{customer_id}/visits",
    response_model=VisitsPage,
    summary="A customer's web activity grouped into visits, newest first",
    responses=responses(404, 400, described={400: "Invalid time."}),
)
async def get_visits(
    agent: AgentReadDep,
    customer_id: CustomerId,
    until: Annotated[
        AwareDatetime | None,
        Query(description="Only events before this time (a previous page's `next_until`)."),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=visits.MAX_VISITS, description="At most this many visits.")
    ] = visits.DEFAULT_VISITS,
) -> VisitsPage:
    """Web events with gaps of at most 30 minutes as one visit each: the console's
    contacts-first view shows these beside the assisted contacts."""
    async with agent.connection() as db:
        canonical, page = await visits.visits_for(db, customer_id, until, limit)
        if canonical is None:
            raise NotFound("customer not found")
        detail = {"page": "next" if until else "first", "view": "visits"}
        await agent.audit.record("timeline_view", canonical, detail, conn=db)
    return page
