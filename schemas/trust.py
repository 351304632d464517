"""Source trust: how far the sender of an event may say whom it is about.

A `server` source (the company's backends, vendor webhooks) is believed: every identifier it
sends may link. A `browser` source holds a public write key, so anyone can send with it: only
the device it speaks from (one `anonymous_id`) and, when `context.user_hash` verified it, one
`user_id` or `email` may link (`browser_verified`); every other identifier it names is a
*claim*, carried in `CanonicalEvent.claims`, kept and shown but never linked. What a claim
may do is decided in `profile_store.domain`; this module only fixes the shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Final

from schemas.identifiers import ANONYMOUS_ID, EMAIL, USER_ID, Identifier

#: The identifier types a verification hash can vouch for.
VERIFIABLE_TYPES: Final = frozenset({USER_ID, EMAIL})


class Trust(StrEnum):
    """The trust level of the source an event came from."""

    SERVER = "server"
    BROWSER_VERIFIED = "browser_verified"
    BROWSER_UNVERIFIED = "browser_unverified"

    @property
    def is_browser(self) -> bool:
        """Sent with a public (browser) write key."""
        return self is not Trust.SERVER


def trust_problem(
    trust: Trust, identifiers: Sequence[Identifier], claims: Sequence[Identifier]
) -> str | None:
    """Why `identifiers` and `claims` cannot come from a source of `trust`, or None."""
    if trust is Trust.SERVER:
        return "claims: only a browser source makes claims" if claims else None
    if set(claims) & set(identifiers):
        return "claims: an identifier is either vouched for or claimed, not both"
    devices = [i for i in identifiers if i.type == ANONYMOUS_ID]
    vouched = [i for i in identifiers if i.type != ANONYMOUS_ID]
    if len(devices) > 1:
        return "identifiers: a browser source speaks for one device (one anonymous_id)"
    if trust is Trust.BROWSER_UNVERIFIED and vouched:
        return "identifiers: an unverified browser source vouches for its device only"
    if trust is Trust.BROWSER_VERIFIED and (
        len(vouched) != 1 or vouched[0].type not in VERIFIABLE_TYPES
    ):
        return "identifiers: a verified browser source vouches for one user_id or email"
    return None
