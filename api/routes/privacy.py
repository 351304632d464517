"""Data-subject routes (role admin): export everything held on a customer, or erase it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.auth import AdminPrincipal
from api.deps import EngineDep, SettingsDep
from api.errors import NotFound, responses
from api.params import CustomerId
from profile_store.privacy import erasure
from profile_store.privacy.export import CustomerExport, export_audited

router = APIRouter(
    prefix="/v1",
    tags=["privacy"],
    responses=responses(401, 403, 404, 503, described={403: "Needs role admin."}),
)


class ErasureOut(BaseModel):
    """What an erasure removed (counts) and how many tombstones now keep the person out."""

    model_config = ConfigDict(frozen=True)

    customer_id: str
    erasure_id: str = Field(description="Names the erasure in the audit log.")
    deleted: dict[str, int] = Field(description="Rows removed per kind of record.")
    tombstones: int = Field(description="Salted identifier hashes left behind.")


@router.get(
    "/customers/{customer_id}/export",
    response_model=CustomerExport,
    summary="Everything held on a customer (data-subject access), as JSON",
)
async def export(principal: AdminPrincipal, engine: EngineDep, customer_id: CustomerId) -> Any:
    """Profile, identifiers with their lineage, every timeline event, merges, identity
    conflicts and constraints, and the audit trail; the export itself is audited."""
    document = await export_audited(engine, customer_id, actor=principal.name, role=principal.role)
    if document is None:
        raise NotFound("customer not found")
    return document


@router.delete(
    "/customers/{customer_id}",
    response_model=ErasureOut,
    summary="Erase a customer and everyone merged into it, leaving salted tombstones",
)
async def erase(
    principal: AdminPrincipal, engine: EngineDep, settings: SettingsDep, customer_id: CustomerId
) -> ErasureOut:
    """Deletes timeline events, identifiers, traits, channel counts, merge records, identity
    conflicts and constraints; late or replayed events carrying its identifiers are dropped."""
    result = await erasure.erase(
        engine, customer_id, settings.salt_bytes(), actor=principal.name, role=principal.role
    )
    if result is None:
        raise NotFound("customer not found")
    return ErasureOut(
        customer_id=result.customer_id,
        erasure_id=result.erasure_id,
        deleted=result.counts(),
        tombstones=len(result.tombstones),
    )
