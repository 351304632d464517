"""Identity verification of browser messages (pure): which identifiers a public key vouches for.

A browser write key is public, so a message sent with it proves only that it came from some
browser. It vouches for the device it speaks from (its `anonymousId`) and, when the site's
backend signed the user, for that user: `context.user_hash` is the lower-case hex
HMAC-SHA256 of the message's `userId` (or, without one, of its email trait), keyed with the
browser key's verification secret, as Intercom's `user_hash`. Every other identifier it
names is a claim (`schemas.trust`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from schemas import Identifier, InvalidEvent
from schemas.identifiers import ANONYMOUS_ID, EMAIL, USER_ID
from schemas.trust import Trust

NO_DEVICE = (
    "anonymousId: is required from a browser write key, unless context.user_hash verifies "
    "the userId or email"
)


@dataclass(frozen=True)
class BrowserSource:
    """Messages came with a public browser key, and this is its verification secret."""

    secret: bytes | None = field(default=None, repr=False)


def user_hash(secret: bytes, value: str) -> str:
    """The verification hash a site's backend computes for a user id or email."""
    return hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Vouched:
    """A browser message's identifiers split by what its source vouches for."""

    trust: Trust
    identifiers: tuple[Identifier, ...]
    claims: tuple[Identifier, ...]


def vouched(
    msg: Mapping[str, Any],
    identifiers: Sequence[Identifier],
    secret: bytes | None,
    traits: Sequence[Mapping[str, Any]],
) -> Vouched:
    """Split a browser message's `identifiers` (mapped from `msg`) into the device, the user
    `context.user_hash` verifies (`traits`: where the message's email traits are, in order),
    and claims; `InvalidEvent` when nothing is vouched for."""
    device = _identifier(ANONYMOUS_ID, msg.get("anonymousId"), identifiers)
    verified = _verified(msg, identifiers, secret, traits)
    kept = tuple(i for i in (device, verified) if i is not None)
    if not kept:
        raise InvalidEvent(NO_DEVICE)
    trust = Trust.BROWSER_VERIFIED if verified is not None else Trust.BROWSER_UNVERIFIED
    return Vouched(trust, kept, tuple(i for i in identifiers if i not in kept))


def _identifier(type_: str, raw: Any, identifiers: Sequence[Identifier]) -> Identifier | None:
    """The mapped identifier of `type_` that `raw` became, if any."""
    if raw is None or isinstance(raw, bool) or not isinstance(raw, str | int):
        return None
    for ident in identifiers:
        if ident.type == type_ and ident.value in (str(raw), str(raw).strip().lower()):
            return ident
    return None


def _verified(
    msg: Mapping[str, Any],
    identifiers: Sequence[Identifier],
    secret: bytes | None,
    traits: Sequence[Mapping[str, Any]],
) -> Identifier | None:
    context = msg.get("context")
    given = context.get("user_hash") if isinstance(context, Mapping) else None
    if secret is None or not isinstance(given, str) or not given:
        return None
    if msg.get("userId") is not None:
        raw, type_ = msg.get("userId"), USER_ID
    else:
        raw = next((t.get("email") for t in traits if isinstance(t.get("email"), str)), None)
        type_ = EMAIL
    ident = _identifier(type_, raw, identifiers)
    if ident is None:
        return None
    # The value as the site sent it, or as Threadline normalised it: either signature counts.
    candidates = {str(raw), ident.value}
    matched = False
    for value in candidates:
        matched |= hmac.compare_digest(given.strip().lower(), user_hash(secret, value))
    return ident if matched else None
