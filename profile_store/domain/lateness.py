"""Which events of a batch arrived too late to apply incrementally (pure).

The order-independence guarantee rests on this decision. An event is *late* when a customer it
touches (the owner of one of its identifiers, or a customer that once refused one) already
holds an event at or after its time: placing it now could change a decision taken since.

A late event that only adds to one customer changes no decision, and is applied incrementally
like any other, when in time order it would have found its identifiers already in one
customer: all of them that anyone holds are that customer's, none was ever refused, and they
were all linked by one event at or before it (`linked_by`, loaded only for these candidates).
Held identifiers linked later, or by several events, may have been apart at its time (it would
have been the first to see one, or would have merged two customers earlier): such an event is
late. Events the caller names `settled` (a new revision that adds no identifier) are placed
already and never late.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime

from profile_store.domain.batch_groups import linkable
from profile_store.domain.identity import Sighting
from profile_store.domain.identity_rules import IdentityRules
from schemas.identifiers import Identifier


def touched(
    s: Sighting,
    owners: Mapping[Identifier, str],
    conflicted: Mapping[Identifier, Iterable[str]],
    rules: IdentityRules,
) -> set[str]:
    """The stored customers an event touches: owners of its identifiers, and customers that
    refused one of them."""
    idents = linkable(s, rules)
    found = {owners[i] for i in idents if i in owners}
    return found | {c for i in idents for c in conflicted.get(i, ())}


def is_late(
    s: Sighting,
    owners: Mapping[Identifier, str],
    conflicted: Mapping[Identifier, Iterable[str]],
    last_seen: Mapping[str, datetime | None],
    rules: IdentityRules,
) -> bool:
    """A customer the event touches already holds an event at or after its time."""
    return any(
        (seen := last_seen.get(c)) is not None and seen >= s.occurred_at
        for c in touched(s, owners, conflicted, rules)
    )


#: An event's place in time order: (occurred_at, event_id), as `resolve_batch` sorts.
EventKey = tuple[datetime, str]


def holds_all(
    s: Sighting,
    owners: Mapping[Identifier, str],
    conflicted: Mapping[Identifier, Iterable[str]],
    rules: IdentityRules,
) -> bool:
    """All its linking identifiers already belong to one customer, its references to it or
    nobody, and none of them was ever refused."""
    idents = linkable(s, rules)
    if any(i in conflicted for i in idents):
        return False
    holders = {owners.get(i) for i in idents if not rules.is_reference(i)}
    if len(holders) != 1 or None in holders:
        return False
    (cid,) = holders
    return all(owners.get(i) in (None, cid) for i in idents if rules.is_reference(i))


def adds_to_one(
    s: Sighting,
    owners: Mapping[Identifier, str],
    conflicted: Mapping[Identifier, Iterable[str]],
    rules: IdentityRules,
    linked_by: Mapping[Identifier, EventKey],
) -> bool:
    """`holds_all`, and the identifiers it carries that anyone holds were all linked by one
    event at or before it: placed in time order it would change no decision."""
    if not holds_all(s, owners, conflicted, rules):
        return False
    keys = {linked_by.get(i) for i in linkable(s, rules) if i in owners}
    if len(keys) != 1 or None in keys:
        return False
    (key,) = keys
    return key is not None and key <= (s.occurred_at, s.event_id)


def late_candidates(
    sightings: Iterable[Sighting],
    owners: Mapping[Identifier, str],
    conflicted: Mapping[Identifier, Iterable[str]],
    last_seen: Mapping[str, datetime | None],
    rules: IdentityRules,
    settled: Collection[str] = (),
) -> list[Sighting]:
    """The events late by time alone (`is_late`), `settled` ones aside."""
    return [
        s
        for s in sightings
        if s.event_id not in settled and is_late(s, owners, conflicted, last_seen, rules)
    ]


def link_times_needed(
    candidates: Iterable[Sighting],
    owners: Mapping[Identifier, str],
    conflicted: Mapping[Identifier, Iterable[str]],
    rules: IdentityRules,
) -> frozenset[Identifier]:
    """The held identifiers whose linking events decide whether `candidates` only add to one
    customer (those of the candidates that `holds_all`)."""
    return frozenset(
        i
        for s in candidates
        if holds_all(s, owners, conflicted, rules)
        for i in linkable(s, rules)
        if i in owners
    )


def late_events(
    sightings: Iterable[Sighting],
    owners: Mapping[Identifier, str],
    conflicted: Mapping[Identifier, Iterable[str]],
    last_seen: Mapping[str, datetime | None],
    rules: IdentityRules,
    settled: Collection[str] = (),
    linked_by: Mapping[Identifier, EventKey] | None = None,
) -> frozenset[str]:
    """The ids of the events that must be re-derived with the customers they touch.
    `linked_by` gives the linking event of the `link_times_needed` identifiers; without it
    no late event counts as only adding to one customer."""
    links = linked_by or {}
    return frozenset(
        s.event_id
        for s in late_candidates(sightings, owners, conflicted, last_seen, rules, settled)
        if not adds_to_one(s, owners, conflicted, rules, links)
    )
