"""The independent parts of a batch: events connected through a shared identifier or a shared
customer belong together. A late event forces a re-derivation of its own part (and of the
customers connected to it), not of every customer the batch happens to touch."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from profile_store.domain.identity import Sighting
from profile_store.domain.identity_rules import IdentityRules
from schemas.identifiers import Identifier

#: A union-find node: ("event", event id), ("identifier", identifier), ("customer", id).
_Node = tuple[str, str | Identifier]


@dataclass(frozen=True)
class Group:
    """Events connected to each other, the identifiers they carry and the customers involved
    (owners of those identifiers, and customers that refused one of them)."""

    event_ids: frozenset[str]
    identifiers: frozenset[Identifier]
    customers: frozenset[str]


def linkable(s: Sighting, rules: IdentityRules) -> tuple[Identifier, ...]:
    """The identifiers of a sighting that take part in stitching (not blocked)."""
    return tuple(i for i in s.identifiers if not rules.is_blocked(i))


def batch_groups(
    sightings: Sequence[Sighting],
    owners: Mapping[Identifier, str],
    conflicted: Mapping[Identifier, Iterable[str]],
    rules: IdentityRules,
) -> list[Group]:
    """The connected parts of a batch, in the order of their first event."""
    parent: dict[_Node, _Node] = {}

    def find(node: _Node) -> _Node:
        root = node
        while (up := parent.setdefault(root, root)) != root:
            root = up
        while node != root:  # path compression
            parent[node], node = root, parent[node]
        return root

    def union(a: _Node, b: _Node) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[rb] = ra

    for s in sightings:
        event = ("event", s.event_id)
        find(event)
        for i in linkable(s, rules):
            union(event, ("identifier", i))
            if i in owners:
                union(event, ("customer", owners[i]))
            for c in conflicted.get(i, ()):
                union(event, ("customer", c))
    members: dict[_Node, tuple[set[str], set[Identifier], set[str]]] = {}
    for node in list(parent):
        events, idents, customers = members.setdefault(find(node), (set(), set(), set()))
        kind, value = node
        if isinstance(value, Identifier):
            idents.add(value)
        elif kind == "event":
            events.add(value)
        else:
            customers.add(value)
    first = {s.event_id: n for n, s in reversed(list(enumerate(sightings)))}
    groups = [Group(frozenset(e), frozenset(i), frozenset(c)) for e, i, c in members.values() if e]
    return sorted(groups, key=lambda g: min(first[e] for e in g.event_ids))


def groups_to_rederive(
    groups: Sequence[Group],
    late: Iterable[str],
    closure_customers: Iterable[str] = (),
    closure_unowned: Iterable[Identifier] = (),
) -> list[Group]:
    """The groups holding a late event, plus every group that involves a customer or an
    unowned identifier of the re-derivation's closure (re-derived customers' events may give
    those an owner, so no other part of the batch may decide them at the same time)."""
    late_ids = set(late)
    customers, unowned = set(closure_customers), set(closure_unowned)
    return [
        g
        for g in groups
        if g.event_ids & late_ids or g.customers & customers or g.identifiers & unowned
    ]
