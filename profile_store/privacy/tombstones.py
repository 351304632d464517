"""Erasure tombstones: salted identifier hashes that keep an erased person from coming back.

Erasure leaves `HMAC-SHA256(salt, "type:value")` of every identifier the person held. The
write path asks `tombstoned_event_ids` which events of a batch to drop, inside its own
transaction, so an erasure and a concurrent write cannot interleave. The decision itself is
the pure `decide`: under policy `drop` any tombstoned identifier drops the event; under
`consent` an event carrying explicit new consent is admitted (it starts a fresh profile,
since the old identifiers are gone) and lifts the tombstones of its identifiers. An event that
only claims an erased identifier (a browser source, unverified) is dropped under either
policy: a claim is nobody's consent, and storing it would bring the value back.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from profile_store import ProfileStoreError
from profile_store.storage.bulk import any_of
from profile_store.storage.tables import erasure_tombstones
from schemas.events import CanonicalEvent

TombstonePolicy = Literal["drop", "consent"]
POLICIES: Final[tuple[TombstonePolicy, ...]] = ("drop", "consent")
#: `attributes.consent` value that counts as explicit new consent under policy `consent`.
CONSENT_GRANTED: Final = "granted"
#: Shortest accepted salt: it is the only thing between a tombstone and a dictionary attack.
MIN_SALT_BYTES: Final = 16
#: Only in dev mode; every other deployment must configure its own secret salt.
DEV_SALT: Final = "dev-erasure-salt-not-for-production"


class TombstoneConfigError(ProfileStoreError):
    """The erasure salt or policy is missing or unusable."""


def identifier_hash(salt: bytes, id_type: str, value: str) -> str:
    """Hex HMAC-SHA256 of `type:value` under `salt` (the value as normalised in schemas)."""
    return hmac.new(salt, f"{id_type}:{value}".encode(), hashlib.sha256).hexdigest()


def event_hashes(salt: bytes, event: CanonicalEvent) -> set[str]:
    """The tombstone hashes of every identifier an event carries, its claims included."""
    return {identifier_hash(salt, i.type, i.value) for i in (*event.identifiers, *event.claims)}


def claim_hashes(salt: bytes, event: CanonicalEvent) -> set[str]:
    """The tombstone hashes of the identifiers an event only claims (a browser source)."""
    return {identifier_hash(salt, i.type, i.value) for i in event.claims}


def has_new_consent(event: CanonicalEvent) -> bool:
    """True when the event says, explicitly, that the person consented again."""
    return event.attributes.get("consent") == CONSENT_GRANTED


@dataclass(frozen=True)
class TombstoneDecision:
    """Which events of a batch to drop, and which tombstones new consent lifts."""

    drop: frozenset[str]
    lift: frozenset[str]


def decide(
    events: Sequence[CanonicalEvent],
    tombstoned: Iterable[str],
    salt: bytes,
    policy: TombstonePolicy = "drop",
) -> TombstoneDecision:
    """Pure decision: drop every event touching a tombstone, unless `consent` admits it."""
    if policy not in POLICIES:
        raise TombstoneConfigError(f"unknown tombstone policy {policy!r}")
    known = set(tombstoned)
    drop: set[str] = set()
    admitted: set[str] = set()
    lift: set[str] = set()
    for event in events:
        hit = event_hashes(salt, event) & known
        if not hit:
            continue
        # A claim is no one's consent: an unverified browser cannot lift an erasure.
        if policy == "consent" and has_new_consent(event) and not hit & claim_hashes(salt, event):
            admitted.add(event.event_id)
            lift |= hit
        else:
            drop.add(event.event_id)
    # A copy of an admitted event (same id) in the same batch is not dropped either.
    return TombstoneDecision(frozenset(drop - admitted), frozenset(lift))


async def stored_tombstones(conn: AsyncConnection, hashes: Iterable[str]) -> set[str]:
    """Which of `hashes` are tombstoned."""
    wanted = sorted(set(hashes))
    if not wanted:
        return set()
    rows = await conn.execute(
        sa.select(erasure_tombstones.c.identifier_hash).where(
            any_of(erasure_tombstones.c.identifier_hash, wanted)
        )
    )
    return {str(h) for (h,) in rows}


async def tombstoned_event_ids(
    conn: AsyncConnection,
    events: Sequence[CanonicalEvent],
    salt: bytes,
    policy: TombstonePolicy = "drop",
) -> set[str]:
    """Event ids to drop because an identifier they carry was erased (caller's transaction).

    Under policy `consent`, tombstones of events admitted by new consent are deleted here,
    so the person's later events are accepted too.
    """
    # One HMAC per distinct identifier: a batch repeats the same person's identifiers.
    distinct = {(i.type, i.value) for e in events for i in (*e.identifiers, *e.claims)}
    hashes = {identifier_hash(salt, t, v) for t, v in distinct}
    found = await stored_tombstones(conn, hashes)
    if not found:
        return set()
    decision = decide(events, found, salt, policy)
    if decision.lift:
        await conn.execute(
            sa.delete(erasure_tombstones).where(
                erasure_tombstones.c.identifier_hash.in_(sorted(decision.lift))
            )
        )
    return set(decision.drop)


def resolve_salt(salt: str | None, dev_mode: bool) -> bytes:
    """The salt as bytes: the dev salt only in dev mode; elsewhere required and long enough."""
    if salt is None or salt == "":
        if dev_mode:
            return DEV_SALT.encode()
        raise TombstoneConfigError("erasure_salt is required outside dev mode")
    if not dev_mode and salt == DEV_SALT:
        raise TombstoneConfigError("erasure_salt is the dev salt, refused outside dev mode")
    if len(salt.encode()) < MIN_SALT_BYTES:
        raise TombstoneConfigError(f"erasure_salt must be at least {MIN_SALT_BYTES} bytes")
    return salt.encode()
