"""Whom a batch may touch and which part of it to re-derive (pure, immutable).

The writer loads the owners of a batch's identifiers and, when some events are late
(`lateness`), re-derives their parts of the batch (`batch_groups`) together with the
customers connected to them through stored events (the closure). Re-derived customers' events
may give identifiers an owner or move customers, so every other part of the batch that shares
a customer or an unowned identifier with the closure is re-derived too: the choice grows
(`next_choice`) until the closure of what is chosen touches nothing else. With admin
constraints stored (which can join customers no event connects) the whole batch is chosen.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType

from profile_store.domain.batch_groups import Group, groups_to_rederive
from schemas.identifiers import Identifier


@dataclass(frozen=True)
class Closure:
    """Customers connected through their events' identifiers, and those with no owner."""

    customers: frozenset[str]
    unowned: frozenset[Identifier]


@dataclass(frozen=True)
class Scope:
    """Whom a batch may touch (`customers`, all to be locked, and `unowned` identifiers), and
    which of its events to re-derive with which customers; the rest applies incrementally."""

    identifiers: frozenset[Identifier]
    owners: Mapping[Identifier, str]
    customers: frozenset[str]
    conflicted: frozenset[Identifier] = frozenset()
    #: Identifiers nobody holds yet that the batch (or a re-derivation) may give an owner.
    unowned: frozenset[Identifier] = frozenset()
    rederive_events: frozenset[str] = frozenset()
    rederive_customers: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "owners", MappingProxyType(dict(self.owners)))

    @property
    def rederive(self) -> bool:
        """Whether part of the batch is re-derived."""
        return bool(self.rederive_events)

    def rederiving(self, events: Collection[str], closure: Closure) -> Scope:
        """This scope with `events` re-derived together with `closure`'s customers."""
        return replace(
            self,
            customers=self.customers | closure.customers,
            unowned=self.unowned | closure.unowned,
            rederive_events=frozenset(events),
            rederive_customers=closure.customers,
        )


def first_choice(groups: Sequence[Group], late: Collection[str], constrained: bool) -> list[Group]:
    """The parts to re-derive before the closure is known: those holding a late event, or
    every part when admin constraints are stored."""
    return list(groups) if constrained else groups_to_rederive(groups, late)


def next_choice(
    groups: Sequence[Group],
    late: Collection[str],
    chosen: Sequence[Group],
    closure: Closure,
    constrained: bool,
) -> list[Group] | None:
    """The parts to re-derive once `closure` (of the `chosen` parts' customers) is known, or
    None when the choice is stable: no other part shares a customer or an unowned identifier
    with the closure."""
    if constrained:
        return None
    grown = groups_to_rederive(groups, late, closure.customers, closure.unowned)
    return None if len(grown) == len(chosen) else grown  # grown only ever adds parts


def customers_of(groups: Sequence[Group]) -> frozenset[str]:
    """The stored customers the parts involve."""
    return frozenset(c for g in groups for c in g.customers)


def events_of(groups: Sequence[Group]) -> frozenset[str]:
    """The events of the parts."""
    return frozenset(e for g in groups for e in g.event_ids)
