"""Re-deriving part of the identity graph from stored events (pure).

Used when events arrive out of time order in a way that could change the outcome, and for
admin unmerges and manual merges: the affected customers are rebuilt by replaying all their
events in time order under the current rules and constraints, then each rebuilt cluster gets
back the existing customer id it most descends from, so ids stay stable.

A `Replay` takes the events in chunks, in time order, and keeps only the identity graph (its
customers and identifiers) and per-cluster tallies in memory, never the events: a caller can
stream a closure of any size through it. Where each event and conflict lands is known as it
is fed (as a replay-local cluster), and final once `finish` has named the clusters.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from profile_store.domain.identity import (
    Conflict,
    IdentityGraph,
    KnownCustomer,
    Link,
    Sighting,
    step_key,
)
from profile_store.domain.identity_rules import Constraints, IdentityRules

EventKey = tuple[datetime, str]


class ReplayOrderError(ValueError):
    """Events were fed out of time order."""


@dataclass(frozen=True)
class StoredEvent:
    """An event of the affected customers: where it is now and where it first landed."""

    sighting: Sighting
    customer_id: str | None
    origin_id: str | None


@dataclass(frozen=True)
class Naming:
    """The replay's clusters mapped onto customer ids: customers kept, created and retired
    (to the canonical customer each now resolves to), and the identifier links."""

    kept: frozenset[str]
    created: tuple[KnownCustomer, ...]
    retired: Mapping[str, str]
    links: tuple[Link, ...]
    cluster_of: Callable[[str], str]
    names: Mapping[str, str]

    def of(self, placed: str) -> str:
        """The customer id of whatever the replay placed on cluster `placed`."""
        return self.names[self.cluster_of(placed)]

    def conflict(self, c: Conflict) -> Conflict:
        """A conflict the replay recorded, on its final customer."""
        return Conflict(c.identifier, self.of(c.customer_id), c.event_id, c.reason)


class Replay:
    """Replays a stored history in time order, fed in chunks (`feed`), then names what it
    rebuilt (`finish`)."""

    def __init__(self, rules: IdentityRules, constraints: Constraints) -> None:
        counter = iter(range(1, 1 << 62))

        def temp_customer() -> KnownCustomer:
            return KnownCustomer(f"\x00tmp{next(counter):012d}", datetime.min.replace(tzinfo=UTC))

        self.graph = IdentityGraph({}, {}, rules, constraints, temp_customer)
        self._manual = sorted(constraints.together, key=step_key, reverse=True)
        self._last: EventKey | None = None
        #: Per replay-local cluster (as placed, before later merges): how many of its events
        #: first landed on each existing id, and its first event.
        self._origins: dict[str, Counter[str]] = {}
        self._first: dict[str, EventKey] = {}

    def feed(self, events: Iterable[StoredEvent]) -> list[tuple[str, str]]:
        """Apply the next events, in time order after every event fed before; where each
        landed: `(event_id, cluster)` (`Naming.of` gives the customer once named)."""
        placed = []
        for e in events:
            key = step_key(e.sighting)
            if self._last is not None and key <= self._last:
                raise ReplayOrderError("events must be fed in (occurred_at, event_id) order")
            self._last = key
            self._manual_until(key)
            cluster = self.graph.apply(e.sighting)
            origin = e.origin_id or e.customer_id
            if origin is not None:
                self._origins.setdefault(cluster, Counter())[origin] += 1
            self._first[cluster] = min(self._first.get(cluster, key), key)
            placed.append((e.sighting.event_id, cluster))
        return placed

    def conflicts(self) -> list[Conflict]:
        """The conflicts recorded since the last call (on replay-local clusters)."""
        out, self.graph.conflicts = self.graph.conflicts, []
        return out

    def _manual_until(self, key: EventKey | None) -> None:
        while self._manual and (key is None or step_key(self._manual[-1]) < key):
            self.graph.apply_together(self._manual.pop())

    def finish(
        self,
        existing: Mapping[str, datetime],
        merged_into: Mapping[str, str],
        new_customer: Callable[[], KnownCustomer],
    ) -> Naming:
        """Map the clusters onto `existing` customer ids (id -> created_at): each keeps the id
        most of its events first landed on; the rest get new ids. `merged_into` gives, for
        existing ids already merged away, their current survivor."""
        self._manual_until(None)
        find = self.graph.find
        origins: dict[str, Counter[str]] = {}
        for cluster, counts in self._origins.items():
            known = Counter({cid: n for cid, n in counts.items() if cid in existing})
            if known:
                origins.setdefault(find(cluster), Counter()).update(known)
        first: dict[str, EventKey] = {}
        for cluster, key in self._first.items():
            root = find(cluster)
            first[root] = min(first.get(root, key), key)
        candidates = sorted(
            (-n, existing[cid], cid, first[root], root)
            for root, counts in origins.items()
            for cid, n in counts.items()
        )
        name: dict[str, str] = {}
        for _, _, cid, _, root in candidates:
            if root not in name and cid not in name.values():
                name[root] = cid
        kept = frozenset(name.values())
        created: list[KnownCustomer] = []
        for root in sorted(set(first) - set(name), key=lambda r: first[r]):
            made = new_customer()
            name[root] = made.customer_id
            created.append(made)
        retired = _retire(existing, merged_into, kept, created, origins, first, name)
        links = tuple(
            Link(lk.identifier, name[find(lk.customer_id)], lk.event_id, lk.rule)
            for lk in self.graph.links
        )
        return Naming(kept, tuple(created), retired, links, find, name)


def _retire(
    existing: Mapping[str, datetime],
    merged_into: Mapping[str, str],
    kept: frozenset[str],
    created: list[KnownCustomer],
    origins: Mapping[str, Counter[str]],
    first: Mapping[str, EventKey],
    name: Mapping[str, str],
) -> dict[str, str]:
    """Where each existing id no longer canonical now resolves: to the cluster holding most
    of the events that first landed on it, else to wherever its former survivor went."""
    retired: dict[str, str] = {}
    for cid in sorted(set(existing) - kept):
        scores = [
            (-counts[cid], first[root], root) for root, counts in origins.items() if counts[cid]
        ]
        if scores:
            retired[cid] = name[min(scores)[2]]
    final = kept | {c.customer_id for c in created}
    for cid in sorted(set(existing) - kept - set(retired)):
        target = merged_into.get(cid)
        seen: set[str] = set()
        while target is not None and target in retired and target not in seen:
            seen.add(target)
            target = retired[target]
        if target is None or target not in final:
            target = name[min(first, key=lambda r: first[r])] if first else None
        if target is not None:
            retired[cid] = target
    return retired


@dataclass
class Rederivation:
    """The rebuilt graph: customers kept, created and retired; links, conflicts, placement."""

    assignments: dict[str, str] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    kept: set[str] = field(default_factory=set)
    created: list[KnownCustomer] = field(default_factory=list)
    #: Existing ids no longer canonical, to the canonical customer they now resolve to.
    retired: dict[str, str] = field(default_factory=dict)


def rederive(
    events: Iterable[StoredEvent],
    existing: Mapping[str, datetime],
    merged_into: Mapping[str, str],
    rules: IdentityRules,
    constraints: Constraints,
    new_customer: Callable[[], KnownCustomer],
) -> Rederivation:
    """Replay `events` (any order) in one go and map the clusters onto `existing` customer ids
    (id -> created_at); `merged_into` gives, for existing ids already merged away, their
    current survivor."""
    replay = Replay(rules, constraints)
    placed = replay.feed(sorted(events, key=lambda e: step_key(e.sighting)))
    conflicts = replay.conflicts()
    naming = replay.finish(existing, merged_into, new_customer)
    return Rederivation(
        assignments={event_id: naming.of(cluster) for event_id, cluster in placed},
        links=list(naming.links),
        conflicts=[naming.conflict(c) for c in conflicts],
        kept=set(naming.kept),
        created=list(naming.created),
        retired=dict(naming.retired),
    )
