"""Identity stitching as pure domain code: which identifiers link, which customers merge, why.

No SQL, Kafka or web imports: the worker loads the part of the identity graph a batch
touches, calls `resolve_batch`, and persists the returned `Resolution`.

The rules, applied to events in (`occurred_at`, `event_id`) order:
- an event belongs to the customer of its highest-priority identifier; its other identifiers
  link to that customer, and customers holding them merge into one (the oldest survives);
- a link or merge that would give a customer more values of a type than its limit, or put
  two identifiers an admin separated into one customer, does not happen: the lower-priority
  identifier gives way (stays where it is, or unlinked) and the conflict is recorded;
- a weak identifier (household phone, shared device) never merges two customers that each
  hold a strong identifier of the same type (two emails, two accounts): weak evidence does
  not override two established identities, though it joins complementary ones;
- blocked values never link; reference ids (order, ticket) find a customer but never link
  two, except that a placeholder known only by a reference is claimed by its first owner;
- a manual merge (`Together`) joins two customers from the moment it was made.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from profile_store.domain.identity_rules import (
    DEFAULT_RULES,
    NO_CONSTRAINTS,
    Constraints,
    IdentityRules,
    Together,
)
from schemas.identifiers import Identifier

RULE_SEEN_TOGETHER = "seen_together"
RULE_REFERENCE = "reference"
RULE_REFERENCE_CLAIMED = "reference_claimed"
RULE_MANUAL = "manual_merge"
REASON_SEPARATED = "separated"


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
    #: How many values of each identifier type the customer holds already.
    counts: Mapping[str, int] = field(default_factory=dict, compare=False, hash=False)

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


@dataclass(frozen=True)
class Conflict:
    """An identifier an event carried that was not linked to the event's customer, and why."""

    identifier: Identifier
    customer_id: str
    event_id: str
    reason: str


@dataclass
class Resolution:
    """What a batch changes in the identity graph, and where each event belongs."""

    new_customers: list[KnownCustomer] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    merges: list[Merge] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    assignments: dict[str, str] = field(default_factory=dict)


class IdentityGraph:
    """Union-find over customer ids plus identifier ownership, with the rules' checks: apply
    sightings and manual merges one at a time, in `step_key` order (`resolve_batch` does that
    for a batch; `profile_store.domain.rederive` feeds a stored history in chunks)."""

    def __init__(
        self,
        known: Mapping[Identifier, str],
        customers: Mapping[str, KnownCustomer],
        rules: IdentityRules,
        constraints: Constraints,
        new_customer: Callable[[], KnownCustomer],
    ) -> None:
        self.rules, self.make = rules, new_customer
        self.customers = dict(customers)
        self.owner: dict[Identifier, str] = dict(known)
        self.parent: dict[str, str] = {}
        self.cause: dict[str, tuple[str, str, tuple[Identifier, ...]]] = {}
        self.placeholders = {c for c, k in customers.items() if k.placeholder}
        self.limited = {t: r.limit for t, r in rules.types.items() if r.limit is not None}
        self.counts = {c: Counter(k.counts) for c, k in customers.items()}
        self.partners = constraints.partners()
        self.separate = constraints.separate
        self.fresh: list[KnownCustomer] = []
        self.links: list[Link] = []
        self.conflicts: list[Conflict] = []

    def find(self, cid: str) -> str:
        root = cid
        while (nxt := self.parent.get(root)) is not None:
            root = nxt
        while (nxt := self.parent.get(cid)) is not None and nxt != root:
            self.parent[cid] = root
            cid = nxt
        return root

    def root_of(self, ident: Identifier) -> str | None:
        cid = self.owner.get(ident)
        return None if cid is None else self.find(cid)

    def survivor_key(self, cid: str) -> tuple[bool, datetime, str]:
        return (cid in self.placeholders, *self.customers[cid].rank)

    def create(self, placeholder: bool) -> str:
        created = self.make()
        self.customers[created.customer_id] = created
        self.counts[created.customer_id] = Counter()
        if placeholder:
            self.placeholders.add(created.customer_id)
        self.fresh.append(created)
        return created.customer_id

    def refusal(self, root: str, idents: Sequence[Identifier]) -> str | None:
        """Why `idents` cannot join `root` (limit or separation), or None if they can."""
        extra = Counter(i.type for i in idents)
        for type_, n in extra.items():
            limit = self.limited.get(type_)
            if limit is not None and self.counts[root][type_] + n > limit:
                return f"limit:{type_}"
        for ident in idents:
            if any(self.root_of(p) == root for p in self.partners.get(ident, ())):
                return REASON_SEPARATED
        return None

    def strong_types(self, root: str) -> set[str]:
        return {t for t, n in self.counts[root].items() if n and self.rules.is_strong(t)}

    def union_refusal(self, a: str, b: str, via: Identifier | None = None) -> str | None:
        """Why customers `a` and `b` cannot be one (limit, separation, weak link), or None."""
        for type_, limit in self.limited.items():
            if self.counts[a][type_] + self.counts[b][type_] > limit:
                return f"limit:{type_}"
        for pair in self.separate:
            x, y = tuple(pair)
            if {self.root_of(x), self.root_of(y)} == {a, b}:
                return REASON_SEPARATED
        weak = via is not None and self.rules.rule(via.type).weak
        if weak and via and self.strong_types(a) & self.strong_types(b):
            return f"weak:{via.type}"
        return None

    def union(
        self, a: str, b: str, event_id: str, rule: str, idents: tuple[Identifier, ...]
    ) -> str:
        if a == b:
            return a
        survivor, loser = sorted((a, b), key=self.survivor_key)
        self.parent[loser] = survivor
        self.counts[survivor] += self.counts.pop(loser)
        if loser in self.placeholders and rule == RULE_SEEN_TOGETHER:
            rule = RULE_REFERENCE_CLAIMED
        self.cause[loser] = (event_id, rule, idents)
        if survivor in self.placeholders and loser not in self.placeholders:
            self.placeholders.discard(survivor)
        return survivor

    def attach(self, ident: Identifier, root: str, event_id: str, rule: str) -> None:
        self.owner[ident] = root
        self.counts[root][ident.type] += 1
        self.links.append(Link(ident, root, event_id, rule))

    def give_way(self, ident: Identifier, root: str, event_id: str, reason: str) -> None:
        self.conflicts.append(Conflict(ident, root, event_id, reason))

    def attach_or_give_way(self, ident: Identifier, root: str, s: Sighting) -> None:
        reason = self.refusal(root, [ident])
        if reason is None:
            self.attach(ident, root, s.event_id, RULE_SEEN_TOGETHER)
        else:
            self.give_way(ident, root, s.event_id, reason)

    def apply(self, s: Sighting) -> str:
        """Place one event: returns its customer (a root at this point)."""
        linking = sorted(
            {i for i in s.identifiers if not self.rules.is_reference(i)}
            - {i for i in s.identifiers if self.rules.is_blocked(i)},
            key=self.rules.rank,
        )
        references = sorted(
            {i for i in s.identifiers if self.rules.is_reference(i)}, key=self.rules.rank
        )
        found = {r for i in references if (r := self.root_of(i)) is not None}
        anchor: str | None = None
        if not linking and found:
            # Only reference ids (an order update, say): they find the customer, never link.
            anchor = min(found, key=self.survivor_key)
        pending: list[Identifier] = []
        for ident in linking:
            owned = self.root_of(ident)
            if owned is None:
                if anchor is None:
                    pending.append(ident)
                else:
                    self.attach_or_give_way(ident, anchor, s)
            elif anchor is None:
                if self.refusal(owned, pending) is None:
                    anchor = owned
                    for p in pending:
                        self.attach(p, anchor, s.event_id, RULE_SEEN_TOGETHER)
                else:
                    anchor = self.create(placeholder=False)
                    for p in pending:
                        self.attach_or_give_way(p, anchor, s)
                    anchor = self.merge_or_give_way(anchor, owned, ident, s, linking)
            elif owned != anchor:
                anchor = self.merge_or_give_way(anchor, owned, ident, s, linking)
        if anchor is None:
            anchor = self.create(placeholder=not linking)
            for p in pending:
                self.attach_or_give_way(p, anchor, s)
        if linking:
            # A reference never links two people, but a placeholder known only by that
            # reference was this person all along.
            for ph in sorted(found & self.placeholders):
                anchor = self.union(
                    anchor, self.find(ph), s.event_id, RULE_REFERENCE_CLAIMED, tuple(linking)
                )
        for ref in references:
            if ref not in self.owner:
                self.attach(ref, anchor, s.event_id, RULE_REFERENCE)
        return anchor

    def merge_or_give_way(
        self, anchor: str, owned: str, ident: Identifier, s: Sighting, linking: list[Identifier]
    ) -> str:
        reason = self.union_refusal(anchor, owned, ident)
        if reason is not None:
            self.give_way(ident, anchor, s.event_id, reason)
            return anchor
        return self.union(anchor, owned, s.event_id, RULE_SEEN_TOGETHER, tuple(linking))

    def apply_together(self, t: Together) -> None:
        """An admin's manual merge: joins the two customers, limits notwithstanding."""
        a, b = self.root_of(t.a), self.root_of(t.b)
        if a is None or b is None or a == b:
            return
        if any({self.root_of(x), self.root_of(y)} == {a, b} for x, y in map(tuple, self.separate)):
            return
        self.union(a, b, f"manual:{t.a.type}:{t.b.type}", RULE_MANUAL, (t.a, t.b))


def step_key(step: Sighting | Together) -> tuple[datetime, str]:
    """Where a step falls in time order: an event by (occurred_at, event_id), a manual merge
    at its time after every event of that instant."""
    if isinstance(step, Together):
        return (step.at, f"\uffff{step.a}{step.b}")
    return (step.occurred_at, step.event_id)


def resolve_batch(
    sightings: Iterable[Sighting],
    known: Mapping[Identifier, str],
    customers: Mapping[str, KnownCustomer],
    new_customer: Callable[[], KnownCustomer],
    rules: IdentityRules = DEFAULT_RULES,
    constraints: Constraints = NO_CONSTRAINTS,
) -> Resolution:
    """Decide links, merges, conflicts and event assignments for a batch.

    `known` maps every identifier of the batch that is already stored, and every stored
    identifier named in `constraints`, to its canonical customer; `customers` describes
    those customers. Events (and manual merges) apply in time order, so the outcome does not
    depend on the order they arrived in.
    """
    graph = IdentityGraph(known, customers, rules, constraints, new_customer)
    steps: list[tuple[tuple[datetime, str], Sighting | Together]] = [
        (step_key(s), s) for s in sightings
    ]
    steps += [(step_key(t), t) for t in constraints.together]
    event_owner: dict[str, str] = {}
    for _, step in sorted(steps, key=lambda x: x[0]):
        if isinstance(step, Together):
            graph.apply_together(step)
        else:
            event_owner[step.event_id] = graph.apply(step)

    find = graph.find
    resolution = Resolution(
        new_customers=[c for c in graph.fresh if find(c.customer_id) == c.customer_id],
        links=[
            Link(lk.identifier, find(lk.customer_id), lk.event_id, lk.rule) for lk in graph.links
        ],
        conflicts=[
            Conflict(c.identifier, find(c.customer_id), c.event_id, c.reason)
            for c in graph.conflicts
        ],
        assignments={e: find(c) for e, c in event_owner.items()},
    )
    for cid in sorted(customers):
        root = find(cid)
        if root != cid:
            event_id, rule, idents = graph.cause[cid]
            resolution.merges.append(Merge(cid, root, event_id, rule, idents))
    return resolution
