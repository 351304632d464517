"""An in-memory identity graph that stores resolutions as the writer does (for tests)."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

from profile_store.domain.identity import KnownCustomer, Sighting, resolve_batch
from profile_store.domain.identity_rules import DEFAULT_RULES, Constraints, IdentityRules
from profile_store.domain.lateness import LinkEvent, StoredView
from profile_store.domain.rederive import StoredEvent, rederive
from profile_store.domain.trust import sighting
from schemas import CanonicalEvent, Identifier
from tests.support.events import event

T0 = datetime(2026, 1, 1, tzinfo=UTC)

#: Identifiers random journeys draw from: people, a shared phone, devices, references.
POOL = [("email", f"p{i}@x.io") for i in range(4)] + [("anonymous_id", f"d{i}") for i in range(3)]
POOL += [("user_id", f"u{i}") for i in range(3)] + [("phone", "+14155550100")]
POOL += [("order_id", "W1"), ("conversation_id", "CH1")]


class Graph:
    """An in-memory identity graph that stores resolutions as the writer does: batches
    apply incrementally, and a batch with an event older than what is stored re-derives."""

    def __init__(
        self, rules: IdentityRules = DEFAULT_RULES, constraints: Constraints | None = None
    ) -> None:
        self.rules = rules
        self.constraints = constraints or Constraints()
        self.owner: dict[Identifier, str] = {}
        self.customers: dict[str, KnownCustomer] = {}
        self.events: dict[str, str] = {}
        self.origin: dict[str, str] = {}
        self.sightings: dict[str, Sighting] = {}
        self.merged_into: dict[str, str] = {}
        #: Customers that refused each identifier (the store's `identity_conflicts`).
        self.refused: dict[Identifier, set[str]] = {}
        #: The event that linked each held identifier (the store's `identifiers.event_id`).
        self.linked_by: dict[Identifier, str] = {}
        self.seq = itertools.count()

    def new_customer(self) -> KnownCustomer:
        n = next(self.seq)
        return KnownCustomer(f"c{n:04d}", T0 + timedelta(seconds=n))

    def known_customer(self, cid: str) -> KnownCustomer:
        held = [i for i, c in self.owner.items() if c == cid]
        counts = Counter(i.type for i in held)
        base = self.customers[cid]
        placeholder = all(self.rules.is_reference(i) for i in held)
        return KnownCustomer(cid, base.created_at, placeholder, dict(counts))

    def apply(self, batch: list[Sighting]) -> None:
        batch = [s for s in batch if s.event_id not in self.events]
        if not batch:
            return
        latest = max((s.occurred_at for s in self.sightings.values()), default=None)
        self.sightings.update({s.event_id: s for s in batch})
        if latest is not None and min(s.occurred_at for s in batch) <= latest:
            self.rederive_all()
            return
        self.apply_incrementally(batch)

    def apply_incrementally(self, batch: list[Sighting]) -> None:
        """Apply `batch` onto the stored graph as the writer's incremental path does."""
        self.sightings.update({s.event_id: s for s in batch})
        idents = {i for s in batch for i in s.identifiers}
        named = {i for pair in self.constraints.separate for i in pair}
        known = {i: self.owner[i] for i in idents | named if i in self.owner}
        customers = {c: self.known_customer(c) for c in set(known.values())}
        res = resolve_batch(
            batch, known, customers, self.new_customer, self.rules, self.constraints
        )
        for c in res.new_customers:
            self.customers[c.customer_id] = c
        for m in res.merges:
            for i, c in self.owner.items():
                if c == m.merged_id:
                    self.owner[i] = m.survivor_id
            for e, c in self.events.items():
                if c == m.merged_id:
                    self.events[e] = m.survivor_id
            self.merged_into[m.merged_id] = m.survivor_id
            for holders in self.refused.values():
                if m.merged_id in holders:
                    holders.discard(m.merged_id)
                    holders.add(m.survivor_id)
        for conflict in res.conflicts:
            self.refused.setdefault(conflict.identifier, set()).add(conflict.customer_id)
        for lk in res.links:
            self.owner.setdefault(lk.identifier, lk.customer_id)
            self.linked_by.setdefault(lk.identifier, lk.event_id)
        self.events.update(res.assignments)
        for e, c in res.assignments.items():
            self.origin.setdefault(e, c)

    def rederive_all(self) -> None:
        stored = [
            StoredEvent(s, self.events.get(e), self.origin.get(e))
            for e, s in self.sightings.items()
        ]
        existing = {c: k.created_at for c, k in self.customers.items()}
        out = rederive(
            stored, existing, self.merged_into, self.rules, self.constraints, self.new_customer
        )
        for c in out.created:
            self.customers[c.customer_id] = c
        self.merged_into = dict(out.retired)
        self.owner = {lk.identifier: lk.customer_id for lk in out.links}
        self.linked_by = {lk.identifier: lk.event_id for lk in out.links}
        self.events = dict(out.assignments)
        for e, c in out.assignments.items():
            self.origin.setdefault(e, c)
        self.refused = {}
        for conflict in out.conflicts:
            self.refused.setdefault(conflict.identifier, set()).add(conflict.customer_id)

    def link_events(self) -> dict[Identifier, LinkEvent]:
        """Each held identifier's linking event (the store's `identifiers.event_id`)."""
        return {
            i: LinkEvent(
                (self.sightings[e].occurred_at, e), frozenset(self.sightings[e].identifiers)
            )
            for i, e in self.linked_by.items()
        }

    def view(self) -> StoredView:
        """What the store holds, as the writer reads it for lateness."""
        return StoredView(self.owner, self.refused, self.last_seen(), self.link_events())

    def last_seen(self) -> dict[str, datetime]:
        """Each customer's latest event time (the store's `customers.last_seen`)."""
        seen: dict[str, datetime] = {}
        for e, c in self.events.items():
            at = self.sightings[e].occurred_at
            seen[c] = max(seen.get(c, at), at)
        return seen

    def partition(self) -> set[frozenset[Identifier]]:
        groups: dict[str, set[Identifier]] = {}
        for i, c in self.owner.items():
            if not self.rules.is_reference(i):
                groups.setdefault(c, set()).add(i)
        return {frozenset(g) for g in groups.values()}

    def event_groups(self) -> set[frozenset[str]]:
        groups: dict[str, set[str]] = {}
        for e, c in self.events.items():
            groups.setdefault(c, set()).add(e)
        return {frozenset(g) for g in groups.values()}


def journeys(seed: int, people: int = 40, tag: str = "") -> list[CanonicalEvent]:
    """Random people touching shared devices, a family phone and each other's orders."""
    rng = random.Random(seed)
    out: list[CanonicalEvent] = []
    for p in range(people):
        mine = [
            ("user_id", f"{tag}u{p}"),
            ("email", f"{tag}p{p}@x.io"),
            ("anonymous_id", f"{tag}d{p}"),
        ]
        shared = [("phone", f"+1415555{p // 3:04d}"), ("anonymous_id", f"{tag}kiosk{p % 4}")]
        for k in range(rng.randint(2, 6)):
            ids = rng.sample(mine, rng.randint(1, 2))
            if rng.random() < 0.3:
                ids.append(rng.choice(shared))
            if rng.random() < 0.2:
                ids.append(("order_id", f"{tag}W{rng.randint(0, people)}"))
            out.append(event(f"{tag}s{seed}p{p}k{k}", *ids, minutes=rng.randint(0, 300)))
    return out


def expected(events: list[CanonicalEvent]) -> Graph:
    """The graph one worker builds from these events in one go."""
    g = Graph()
    g.apply([sighting(e) for e in events])
    return g
