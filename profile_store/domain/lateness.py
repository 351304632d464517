"""Which events of a batch arrived too late to apply incrementally (pure).

The order-independence guarantee rests on this decision. An event is *late* when a customer it
touches (the owner of one of its identifiers, or a customer that once refused one) already
holds an event at or after its time: placing it now could change a decision taken since.

A late event that only adds to one customer changes no decision, and is applied incrementally
like any other, when in time order it would have found its identifiers already in one
customer: all of them that anyone holds are that customer's, none was ever refused, and the
events that linked them (`LinkEvent`, loaded only for these candidates) are at or before it
and joined them. An event that linked an identifier put it, and every linking identifier it
carried that nobody refused, into one customer; customers only merge afterwards. An event
older than an identifier's link, or whose identifiers only a later merge joined, could have
changed a decision taken since (been the first to see an identifier, merged two customers
earlier): it is late. Events the caller names `settled` (a new revision that adds no
identifier) are placed already and never late.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from profile_store.domain.batch_groups import linkable
from profile_store.domain.identity import Sighting
from profile_store.domain.identity_rules import IdentityRules
from schemas.identifiers import Identifier

#: An event's place in time order: (occurred_at, event_id), as `resolve_batch` sorts.
EventKey = tuple[datetime, str]


@dataclass(frozen=True)
class LinkEvent:
    """The stored event that linked an identifier: its place in time order, what it carried."""

    key: EventKey
    identifiers: frozenset[Identifier]


@dataclass(frozen=True)
class StoredView:
    """What the store holds about a batch's identifiers: their owners, the customers that
    refused each, those customers' latest event times, and (loaded for the late candidates
    only, see `links_needed`) the events that linked them."""

    owners: Mapping[Identifier, str]
    conflicted: Mapping[Identifier, Collection[str]] = field(default_factory=dict)
    last_seen: Mapping[str, datetime | None] = field(default_factory=dict)
    links: Mapping[Identifier, LinkEvent] = field(default_factory=dict)


def touched(s: Sighting, stored: StoredView, rules: IdentityRules) -> set[str]:
    """The stored customers an event touches: owners of its identifiers, and customers that
    refused one of them."""
    idents = linkable(s, rules)
    found = {stored.owners[i] for i in idents if i in stored.owners}
    return found | {c for i in idents for c in stored.conflicted.get(i, ())}


def is_late(s: Sighting, stored: StoredView, rules: IdentityRules) -> bool:
    """A customer the event touches already holds an event at or after its time."""
    return any(
        (seen := stored.last_seen.get(c)) is not None and seen >= s.occurred_at
        for c in touched(s, stored, rules)
    )


def holds_all(s: Sighting, stored: StoredView, rules: IdentityRules) -> bool:
    """All its linking identifiers already belong to one customer, its references to it or
    nobody, and none of them was ever refused."""
    idents = linkable(s, rules)
    if any(i in stored.conflicted for i in idents):
        return False
    holders = {stored.owners.get(i) for i in idents if not rules.is_reference(i)}
    if len(holders) != 1 or None in holders:
        return False
    (cid,) = holders
    return all(stored.owners.get(i) in (None, cid) for i in idents if rules.is_reference(i))


def adds_to_one(s: Sighting, stored: StoredView, rules: IdentityRules) -> bool:
    """`holds_all`, and at its time the identifiers it carries that anyone holds were already
    in one customer: placed in time order it would change no decision."""
    if not holds_all(s, stored, rules):
        return False
    links = stored.links
    held = [i for i in linkable(s, rules) if i in stored.owners]
    parent = {i: i for i in held}

    def find(i: Identifier) -> Identifier:
        while parent[i] != i:
            i = parent[i]
        return i

    for i in held:
        link = links.get(i)
        if link is None or link.key > (s.occurred_at, s.event_id):
            return False
        joined = [
            j
            for j in held
            if (j in links and links[j].key == link.key)
            or (j in link.identifiers and not rules.is_reference(j))
        ]
        for j in joined:
            parent[find(j)] = find(i)
    return len({find(i) for i in held}) == 1


def late_candidates(
    sightings: Iterable[Sighting],
    stored: StoredView,
    rules: IdentityRules,
    settled: Collection[str] = (),
) -> list[Sighting]:
    """The events late by time alone (`is_late`), `settled` ones aside."""
    return [s for s in sightings if s.event_id not in settled and is_late(s, stored, rules)]


def links_needed(
    candidates: Iterable[Sighting], stored: StoredView, rules: IdentityRules
) -> frozenset[Identifier]:
    """The held identifiers whose linking events decide whether `candidates` only add to one
    customer (those of the candidates that `holds_all`)."""
    return frozenset(
        i
        for s in candidates
        if holds_all(s, stored, rules)
        for i in linkable(s, rules)
        if i in stored.owners
    )


def late_events(
    sightings: Iterable[Sighting],
    stored: StoredView,
    rules: IdentityRules,
    settled: Collection[str] = (),
) -> frozenset[str]:
    """The ids of the events that must be re-derived with the customers they touch. Without
    `stored.links` for the `links_needed` identifiers, no late event counts as only adding
    to one customer."""
    return frozenset(
        s.event_id
        for s in late_candidates(sightings, stored, rules, settled)
        if not adds_to_one(s, stored, rules)
    )
