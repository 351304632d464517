"""`GET /v1/audit`: admins read the audit trail back. Every lookup, search and profile read is
recorded (who, when, which customer) by the `Auditor` of `api.deps`.

Entries never hold identifier values or names: a lookup records the identifier *type*, a
search the kinds of match it tried. The entry is written before the answer is sent, in its
own one-statement transaction with `synchronous_commit` off (durable within the WAL writer's
delay, typically under a second), so an audited read costs one round trip and no disk flush.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Depends, Query

from api.auth import AdminPrincipal
from api.deps import EngineDep, reject_unknown_query
from api.errors import responses
from api.params import PRINTABLE
from api.settings import KEY_NAME_PATTERN
from profile_store.read.view_models import AuditEntryOut, AuditPage
from profile_store.storage.audit import list_audit
from profile_store.storage.connections import read_snapshot

MAX_AUDIT_PAGE: Final = 500

router = APIRouter(
    prefix="/v1",
    tags=["audit"],
    dependencies=[Depends(reject_unknown_query)],
    responses=responses(
        401, 403, 422, 503, described={403: "Only role admin reads the audit trail."}
    ),
)


@router.get("/audit", response_model=AuditPage, summary="Who read which customer, newest first")
async def read_audit(
    principal: AdminPrincipal,
    engine: EngineDep,
    customer_id: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            pattern=PRINTABLE,
            description="Only entries about this customer.",
        ),
    ] = None,
    actor: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=64,
            pattern=KEY_NAME_PATTERN,
            description="Only entries by this API key name.",
        ),
    ] = None,
    before: Annotated[
        int | None,
        Query(ge=1, le=2**63 - 1, description="The previous page's `next_before`."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_AUDIT_PAGE, description="Page size.")] = 100,
) -> AuditPage:
    """Audit entries (role admin): lookups, searches, profile and timeline reads, streams."""
    async with read_snapshot(engine) as conn:
        entries = await list_audit(
            conn, customer_id=customer_id, actor=actor, before_id=before, limit=limit
        )
    items = [AuditEntryOut.model_validate(e, from_attributes=True) for e in entries]
    return AuditPage(items=items, next_before=items[-1].id if len(items) == limit else None)
