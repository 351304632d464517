"""`/v1` unified view routes: identifier lookup, profile, links, timeline (role agent or admin);
every read is audited."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from api.audit import AgentReadDep
from api.deps import read_snapshot, reject_unknown_query
from api.errors import Conflict, ErrorBody, NotFound
from api.params import PRINTABLE, CustomerId, Kind
from profile_store import queries
from profile_store.lineage import load_lineage
from profile_store.read_models import Lineage, Profile, TimelinePage
from profile_store.timeline_read import timeline_for
from schemas import Channel, normalise_identifier

_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    401: {"model": ErrorBody, "description": "Missing or invalid API key."},
    403: {"model": ErrorBody, "description": "The key's role does not allow this."},
    422: {"model": ErrorBody, "description": "A parameter is invalid (named in the message)."},
    503: {"model": ErrorBody, "description": "The database is unavailable."},
}
_NOT_FOUND: Final[dict[int | str, dict[str, Any]]] = {
    404: {"model": ErrorBody, "description": "Unknown customer."}
}

router = APIRouter(
    prefix="/v1",
    tags=["customers"],
    responses=_ERRORS,
    dependencies=[Depends(reject_unknown_query)],
)


@router.get(
    "/customers/lookup",
    response_model=Profile,
    summary="Find the canonical profile by any identifier",
    responses={
        **_NOT_FOUND,
        400: {"model": ErrorBody, "description": "Not a valid identifier of that type."},
        409: {
            "model": ErrorBody,
            "description": "An order number held by customers of several shops: add the shop.",
        },
    },
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
            profile = await queries.find_profile(db, id_type, normalised)
        except queries.AmbiguousIdentifier as exc:
            raise Conflict(str(exc)) from None
        found = profile.customer_id if profile is not None else None
        await agent.audit.record("lookup", found, {"type": id_type, "found": found is not None}, db)
    if profile is None:
        raise NotFound("no customer has this identifier")
    return profile


@router.get(
    "/customers/{customer_id}",
    response_model=Profile,
    summary="A customer's unified profile",
    responses=_NOT_FOUND,
)
async def get_customer(agent: AgentReadDep, customer_id: CustomerId) -> Profile:
    """Identifiers, merged ids, traits, first/last seen, per-channel counts and CX scores."""
    async with agent.connection() as db:
        profile = await queries.load_profile(db, customer_id)
        if profile is None:
            raise NotFound("customer not found")
        await agent.audit.record("profile_view", profile.customer_id, conn=db)
    return profile


@router.get(
    "/customers/{customer_id}/links",
    response_model=Lineage,
    summary="Why the profile holds each identifier, and whom it absorbed",
    responses=_NOT_FOUND,
)
async def get_links(agent: AgentReadDep, customer_id: CustomerId) -> Lineage:
    """Each identifier with the rule and event that linked it; each merge with its cause."""
    async with read_snapshot(agent.engine) as db:
        lineage = await load_lineage(db, customer_id)
    if lineage is None:
        raise NotFound("customer not found")
    await agent.audit.record("links_view", lineage.customer_id)
    return lineage


@router.get(
    "/customers/{customer_id}/timeline",
    response_model=TimelinePage,
    summary="A customer's interactions, newest first",
    responses={
        **_NOT_FOUND,
        400: {"model": ErrorBody, "description": "Invalid cursor or time range."},
    },
)
async def get_timeline(
    agent: AgentReadDep,
    customer_id: CustomerId,
    channel: Annotated[
        list[Channel] | None,
        Query(
            max_length=queries.MAX_FILTER_VALUES,
            description="Only these channels (repeat the parameter for several).",
        ),
    ] = None,
    kind: Annotated[
        list[Kind] | None,
        Query(
            max_length=queries.MAX_FILTER_VALUES,
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
        int, Query(ge=1, le=queries.MAX_LIMIT, description="Page size.")
    ] = queries.DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(
            max_length=queries.MAX_CURSOR_LENGTH,
            description="The previous page's `next_cursor`, unchanged.",
        ),
    ] = None,
) -> TimelinePage:
    """Keyset-paginated timeline; a merged-away id answers with the survivor's timeline."""
    if cursor is not None:
        queries.decode_cursor(cursor)  # a bad cursor is a 400 even while the database is down
    async with agent.connection() as db:
        canonical, page = await timeline_for(
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
        await agent.audit.record("timeline_view", canonical, detail, db)
    return page
