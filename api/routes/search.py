"""`GET /v1/search` (candidates by identifier or name prefix) and `GET /v1/me` (the caller)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict

from api.auth import AgentPrincipal
from api.deps import AgentReadDep, reject_unknown_query
from api.errors import responses
from api.params import NOT_BLANK
from api.settings import Role
from profile_store.read import search, search_plan
from profile_store.read.view_models import SearchResults

router = APIRouter(
    prefix="/v1",
    tags=["customers"],
    responses=responses(401, 403, 422, 503),
    dependencies=[Depends(reject_unknown_query)],
)


class Me(BaseModel):
    """The caller: the API key's configured name and role."""

    model_config = ConfigDict(
        frozen=True, json_schema_extra={"examples": [{"name": "desk-7", "role": "agent"}]}
    )

    name: str
    role: Role


@router.get("/me", response_model=Me, summary="Who the API key belongs to")
async def me(principal: AgentPrincipal) -> Me:
    """The key's name and role: the console's sign-in check."""
    return Me(name=principal.name, role=principal.role)


@router.get(
    "/search",
    response_model=SearchResults,
    summary="Candidate customers by any identifier or a name prefix",
    responses=responses(400, described={400: "The query is empty."}),
)
async def search_customers(
    agent: AgentReadDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=search_plan.MAX_QUERY_LENGTH,
            pattern=NOT_BLANK,
            description="A phone number or email in any format (a local number without its "
            "area code too), a loyalty, order, account or customer id, or the start of a name "
            "or email address.",
            examples=["(415) 555-0132", "555-0132", "maria@shop.io", "W-5001", "Maria Lo"],
        ),
    ],
    limit: Annotated[
        int, Query(ge=1, le=search.MAX_RESULTS, description="At most this many candidates.")
    ] = search.DEFAULT_RESULTS,
) -> SearchResults:
    """Exact identifier matches first, then names, then email prefixes; merged ids resolve to
    their survivor."""
    region = agent.settings.default_region
    plan = search_plan.plan_search(q, region)  # 400 before touching the database
    async with agent.connection() as db:
        results = await search.search_customers(db, q, region, limit)
        only = results.items[0].customer_id if len(results.items) == 1 else None
        detail = {"tried": list(plan.tried), "results": len(results.items)}
        await agent.audit.record("search", only, detail, conn=db)
    return results
