"""`/v1` admin identity routes: split a wrong merge, merge two customers by hand."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.auth import AdminPrincipal
from api.deps import EngineDep, SettingsDep
from api.errors import Conflict, NotFound, responses
from api.params import PRINTABLE, CustomerId
from profile_store.write import identity_admin
from profile_store.write.identity_admin import (
    Actor,
    AdminOutcome,
    IdentityAdminError,
    UnknownCustomer,
)

_DESCRIBED = {
    400: "The body is not JSON.",
    403: "Only admin keys may change identity.",
    422: "The body is invalid (named in the message).",
}
router = APIRouter(
    prefix="/v1",
    tags=["identity"],
    responses=responses(400, 401, 403, 404, 409, 422, 503, described=_DESCRIBED),
)

OtherId = Annotated[str, Field(min_length=1, max_length=200, pattern=PRINTABLE)]


class UnmergeRequest(BaseModel):
    """Which merged-away customer to split back out."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", json_schema_extra={"examples": [{"merged_id": "cus_b"}]}
    )
    merged_id: OtherId


class MergeRequest(BaseModel):
    """Which other customer is the same person."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", json_schema_extra={"examples": [{"other_id": "cus_b"}]}
    )
    other_id: OtherId


class IdentityChange(BaseModel):
    """The canonical customers after the change, and every customer rebuilt."""

    model_config = ConfigDict(frozen=True)
    customer_id: str
    other_id: str
    rebuilt: list[str]

    @classmethod
    def of(cls, out: AdminOutcome) -> IdentityChange:
        """From the store's outcome."""
        return cls(customer_id=out.customer_id, other_id=out.other_id, rebuilt=list(out.rebuilt))


async def _run(call: Any) -> IdentityChange:
    try:
        return IdentityChange.of(await call)
    except UnknownCustomer as exc:
        raise NotFound(str(exc)) from exc
    except IdentityAdminError as exc:
        raise Conflict(str(exc)) from exc


@router.post(
    "/customers/{customer_id}/unmerge",
    response_model=IdentityChange,
    summary="Split a wrongly merged customer back out (admin)",
    description=(
        "Re-derives the affected customers from their stored events with the two kept apart "
        "for good; the split-off customer gets its id and every one of its events back."
    ),
)
async def unmerge_customer(
    principal: AdminPrincipal,
    engine: EngineDep,
    settings: SettingsDep,
    customer_id: CustomerId,
    body: UnmergeRequest,
) -> IdentityChange:
    actor = Actor(principal.name, principal.role)
    return await _run(
        identity_admin.unmerge(engine, customer_id, body.merged_id, actor, settings.stitching)
    )


@router.post(
    "/customers/{customer_id}/merge",
    response_model=IdentityChange,
    summary="Merge another customer into this one by hand (admin)",
    description="The two become one customer (the older id survives) from now on.",
)
async def merge_customers(
    principal: AdminPrincipal,
    engine: EngineDep,
    settings: SettingsDep,
    customer_id: CustomerId,
    body: MergeRequest,
) -> IdentityChange:
    actor = Actor(principal.name, principal.role)
    return await _run(
        identity_admin.manual_merge(engine, customer_id, body.other_id, actor, settings.stitching)
    )
