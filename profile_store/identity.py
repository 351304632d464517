"""Identity stitching as pure domain code: which identifiers link, which customers merge, why.

No SQL, Kafka or web imports: the worker loads the part of the identity graph a batch
touches, calls `resolve_batch`, and persists the returned `Resolution`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from schemas.identifiers import REFERENCE_TYPES, Identifier

RULE_SEEN_TOGETHER = "seen_together"
RULE_REFERENCE = "reference"
RULE_REFERENCE_CLAIMED = "reference_claimed"

DEFAULT_BLOCKED_VALUES = frozenset(
    {"unknown", "null", "none", "undefined", "n/a", "na", "test", "anonymous", "0", "-"}
)
DEFAULT_BLOCKED_PATTERNS = (
    r"^(test|example|noreply|no-reply|donotreply|do-not-reply|null|none|unknown)@",
    r"@(example\.(com|org|net)|test\.com)$",
    # A repeated digit after an optional country code: +10000000000, 0000000, +15555555555.
    r"^\+?\d{0,3}?(\d)\1{6,}$",
)


@dataclass(frozen=True)
class IdentityRules:
    """Configurable rules: reference types never link; blocked values are ignored for linking."""

    reference_types: frozenset[str] = REFERENCE_TYPES
    blocked_values: frozenset[str] = DEFAULT_BLOCKED_VALUES
    blocked_patterns: tuple[str, ...] = DEFAULT_BLOCKED_PATTERNS
    _compiled: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", tuple(re.compile(p) for p in self.blocked_patterns))

    def is_blocked(self, ident: Identifier) -> bool:
        """True for placeholder values that must never link anyone."""
        value = ident.value.lower()
        if value in self.blocked_values:
            return True
        return any(p.search(value) for p in self._compiled)

    def is_reference(self, ident: Identifier) -> bool:
        """True for ids that resolve a lookup but never link two customers."""
        return ident.type in self.reference_types


DEFAULT_RULES = IdentityRules()


@dataclass(frozen=True)
class Sighting:
    """An event as identity resolution sees it: which identifiers appeared together, when."""

    event_id: str
    occurred_at: datetime
    identifiers: tuple[Identifier, ...]


@dataclass(frozen=True)
class KnownCustomer:
    """An existing canonical customer; the oldest one survives a merge."""

    customer_id: str
    created_at: datetime
    #: Known only by reference ids (an agent's chat reply before the customer wrote, an
    #: order update before the order): the first person to claim the reference absorbs it.
    placeholder: bool = False

    @property
    def rank(self) -> tuple[datetime, str]:
        """Survivorship order: older first, id as a deterministic tie-break."""
        return (self.created_at, self.customer_id)


@dataclass(frozen=True)
class Link:
    """An identifier newly attached to a customer, with the event and rule that caused it."""

    identifier: Identifier
    customer_id: str
    event_id: str
    rule: str


@dataclass(frozen=True)
class Merge:
    """A customer absorbed into an older one because an event showed them to be one person."""

    merged_id: str
    survivor_id: str
    event_id: str
    rule: str
    identifiers: tuple[Identifier, ...]


@dataclass
class Resolution:
    """What a batch changes in the identity graph, and where each event belongs."""

    new_customers: list[KnownCustomer] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    merges: list[Merge] = field(default_factory=list)
    assignments: dict[str, str] = field(default_factory=dict)


class _Forest:
    """Union-find over customer ids: the older real customer is always the root."""

    def __init__(self, customers: Mapping[str, KnownCustomer]) -> None:
        self.customers = dict(customers)
        self.parent: dict[str, str] = {}
        self.cause: dict[str, tuple[str, str, tuple[Identifier, ...]]] = {}
        self.placeholders = {c for c, k in customers.items() if k.placeholder}

    def add(self, customer: KnownCustomer, placeholder: bool) -> None:
        self.customers[customer.customer_id] = customer
        if placeholder:
            self.placeholders.add(customer.customer_id)

    def find(self, cid: str) -> str:
        root = cid
        while (nxt := self.parent.get(root)) is not None:
            root = nxt
        while (nxt := self.parent.get(cid)) is not None and nxt != root:
            self.parent[cid] = root
            cid = nxt
        return root

    def union(self, ids: Iterable[str], event_id: str, idents: tuple[Identifier, ...]) -> str:
        roots = {self.find(c) for c in ids}
        survivor = min(roots, key=lambda c: (c in self.placeholders, self.customers[c].rank))
        for root in roots - {survivor}:
            self.parent[root] = survivor
            rule = RULE_REFERENCE_CLAIMED if root in self.placeholders else RULE_SEEN_TOGETHER
            self.cause[root] = (event_id, rule, idents)
        if idents:
            self.placeholders.discard(survivor)
        return survivor


def resolve_batch(
    sightings: Iterable[Sighting],
    known: Mapping[Identifier, str],
    customers: Mapping[str, KnownCustomer],
    new_customer: Callable[[], KnownCustomer],
    rules: IdentityRules = DEFAULT_RULES,
) -> Resolution:
    """Decide links, merges and event assignments for a batch.

    `known` maps every identifier of the batch that is already stored to its canonical
    customer; `customers` describes those customers. Events are applied in
    (`occurred_at`, `event_id`) order so the outcome does not depend on arrival order.
    """
    forest = _Forest(customers)
    owner: dict[Identifier, str] = dict(known)
    fresh: list[KnownCustomer] = []
    event_owner: dict[str, str] = {}
    links: list[Link] = []

    for s in sorted(sightings, key=lambda s: (s.occurred_at, s.event_id)):
        linking = tuple(
            i for i in s.identifiers if not rules.is_reference(i) and not rules.is_blocked(i)
        )
        references = tuple(i for i in s.identifiers if rules.is_reference(i))
        owners = {owner[i] for i in linking if i in owner}
        found = {forest.find(owner[i]) for i in references if i in owner}
        if linking:
            # A reference never links two people, but a placeholder known only by that
            # reference was this person all along.
            owners |= found & forest.placeholders
        elif found:
            # Only reference ids (an order update, say): they find the customer, never link.
            owners = {
                min(found, key=lambda c: (c in forest.placeholders, forest.customers[c].rank))
            }
        if owners:
            cid = forest.union(owners, s.event_id, linking)
        else:
            created = new_customer()
            forest.add(created, placeholder=not linking)
            fresh.append(created)
            cid = created.customer_id
        for ident in (*linking, *references):
            if ident not in owner:
                owner[ident] = cid
                rule = RULE_REFERENCE if ident in references else RULE_SEEN_TOGETHER
                links.append(Link(ident, cid, s.event_id, rule))
        event_owner[s.event_id] = cid

    resolution = Resolution()
    resolution.new_customers = [c for c in fresh if forest.find(c.customer_id) == c.customer_id]
    resolution.links = [
        Link(lk.identifier, forest.find(lk.customer_id), lk.event_id, lk.rule) for lk in links
    ]
    for cid in sorted(customers):
        root = forest.find(cid)
        if root != cid:
            event_id, rule, idents = forest.cause[cid]
            resolution.merges.append(Merge(cid, root, event_id, rule, idents))
    resolution.assignments = {e: forest.find(c) for e, c in event_owner.items()}
    return resolution
