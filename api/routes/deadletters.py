"""Admin routes (role admin): the dead-letter store, to inspect what the pipeline refused."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.auth import AdminPrincipal
from api.deps import EngineDep
from api.errors import NotFound, responses
from profile_store.deadletters import (
    MAX_LIST,
    DeadLetterDetail,
    DeadLetterOut,
    get_dead_letter,
    list_dead_letters,
)
from profile_store.storage.connections import read_snapshot

#: Dead-letter ids are PostgreSQL bigints: larger numbers are a 422, not a query.
BIGINT_MAX = 2**63 - 1

router = APIRouter(
    prefix="/v1/admin",
    tags=["admin"],
    responses=responses(401, 403, 422, 503, described={403: "Needs role admin."}),
)


@router.get(
    "/deadletters",
    response_model=list[DeadLetterOut],
    summary="Dead letters, newest first (pending only unless all=true)",
)
async def deadletters(
    principal: AdminPrincipal,
    engine: EngineDep,
    component: Annotated[
        str | None, Query(max_length=64, pattern=r"^[a-z][a-z0-9_.]*$", examples=["worker.write"])
    ] = None,
    include_replayed: Annotated[bool, Query(alias="all")] = False,
    before_id: Annotated[
        int | None, Query(ge=1, le=BIGINT_MAX, description="Page: ids below this.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = 100,
) -> list[DeadLetterOut]:
    """What failed, where (component, topic, partition, offset), why, how often, and when."""
    async with read_snapshot(engine) as conn:
        return await list_dead_letters(
            conn,
            pending_only=not include_replayed,
            component=component,
            before_id=before_id,
            limit=limit,
        )


@router.get(
    "/deadletters/{letter_id}",
    response_model=DeadLetterDetail,
    summary="One dead letter with its original bytes (base64)",
    responses=responses(404, described={404: "No such dead letter."}),
)
async def deadletter(
    principal: AdminPrincipal,
    engine: EngineDep,
    letter_id: Annotated[int, Path(ge=1, le=BIGINT_MAX)],
) -> DeadLetterDetail:
    """The record byte for byte, as the worker received it; replay with
    `threadline deadletter replay ID`."""
    async with read_snapshot(engine) as conn:
        letter = await get_dead_letter(conn, letter_id)
    if letter is None:
        raise NotFound("dead letter not found")
    return letter
