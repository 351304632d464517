"""Source trust (pure): what an event sent with a public browser write key may do.

A browser write key ships in a website's JavaScript, so anyone may send with it. The rules:

- An event takes part in stitching with the identifiers its source vouched for only
  (`sighting`): every identifier of a `server` event; the device (`anonymous_id`) of a
  browser event, and the `user_id` or `email` its `context.user_hash` verified. What a
  browser event names without verification is a *claim* (`CanonicalEvent.claims`): it never
  links, never attaches the device or its history to a customer, never merges anyone, and
  so is never found by lookup or search, nor exported or erased as anyone's identifier.
- An unverified browser event records activity on its device's customer, but never
  changes anyone's traits (`sets_traits`): the traits it carries are claims too.
- A claim becomes true only through trusted evidence: a verified browser event, or a
  `server` event carrying the device together with the identifier (the site's backend
  after a login). That event links as any other, and the device's customer, with its
  earlier activity, joins the customer it belongs to.
- Claims are shown for what they are (`unverified`): on the customer whose events made
  them, unless that customer holds the identifier (confirmed since), newest first.

Nothing here depends on arrival order: claims are a property of each event, and the
identity graph is decided from vouched identifiers alone.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from profile_store.domain.identity import Sighting
from schemas.events import CanonicalEvent
from schemas.trust import Trust

#: The reason an unverified claim did not link, as lineage and conflicts name it.
REASON_UNVERIFIED: Final = "unverified:browser"
#: Most unverified claims shown on one profile.
MAX_SHOWN_CLAIMS: Final = 20


def sighting(event: CanonicalEvent) -> Sighting:
    """The event as stitching sees it: the identifiers its source vouched for, never its
    claims."""
    return Sighting(event.event_id, event.occurred_at, event.identifiers)


def sets_traits(trust: Trust | str) -> bool:
    """True when traits carried by an event of this trust level may change a profile."""
    return Trust(trust) is not Trust.BROWSER_UNVERIFIED


@dataclass(frozen=True)
class Claim:
    """An identifier a browser event named without verification."""

    type: str
    value: str
    event_id: str
    at: datetime


def unverified(
    claims: Iterable[Claim], held: Collection[tuple[str, str]], limit: int = MAX_SHOWN_CLAIMS
) -> list[Claim]:
    """The claims of a customer's events still unverified: each identifier once (its latest
    claim), those the customer holds left out, newest first, at most `limit`."""
    latest: dict[tuple[str, str], Claim] = {}
    for claim in claims:
        key = (claim.type, claim.value)
        if key in held:
            continue
        seen = latest.get(key)
        if seen is None or (claim.at, claim.event_id) > (seen.at, seen.event_id):
            latest[key] = claim
    ordered = sorted(latest.values(), key=lambda c: (c.at, c.event_id, c.type, c.value))
    return ordered[::-1][:limit]
