"""Re-deriving part of the identity graph from stored events (pure).

Used when events arrive out of time order in a way that could change the outcome, and for
admin unmerges and manual merges: the affected customers are rebuilt by replaying all their
events in time order under the current rules and constraints, then each rebuilt cluster gets
back the existing customer id it most descends from, so ids stay stable.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from profile_store.domain.identity import Conflict, KnownCustomer, Link, Sighting, resolve_batch
from profile_store.domain.identity_rules import Constraints, IdentityRules


@dataclass(frozen=True)
class StoredEvent:
    """An event of the affected customers: where it is now and where it first landed."""

    sighting: Sighting
    customer_id: str | None
    origin_id: str | None


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
    """Replay `events` and map the clusters onto `existing` customer ids (id -> created_at).

    `merged_into` gives, for existing ids already merged away, their current survivor.
    """
    stored = list(events)
    counter = iter(range(1, 1 << 62))

    def temp_customer() -> KnownCustomer:
        return KnownCustomer(f"\x00tmp{next(counter):012d}", datetime.min.replace(tzinfo=UTC))

    res = resolve_batch([e.sighting for e in stored], {}, {}, temp_customer, rules, constraints)
    origins: dict[str, Counter[str]] = {}
    first: dict[str, tuple[datetime, str]] = {}
    for e in stored:
        tmp = res.assignments[e.sighting.event_id]
        origin = e.origin_id or e.customer_id
        if origin is not None and origin in existing:
            origins.setdefault(tmp, Counter())[origin] += 1
        key = (e.sighting.occurred_at, e.sighting.event_id)
        first[tmp] = min(first.get(tmp, key), key)
    candidates = sorted(
        (
            (-n, existing[cid], cid, first[tmp], tmp)
            for tmp, counts in origins.items()
            for cid, n in counts.items()
        ),
    )
    name: dict[str, str] = {}
    for _, _, cid, _, tmp in candidates:
        if tmp not in name and cid not in name.values():
            name[tmp] = cid
    out = Rederivation(kept=set(name.values()))
    for tmp in sorted(set(res.assignments.values()) - set(name), key=lambda t: first[t]):
        created = new_customer()
        name[tmp] = created.customer_id
        out.created.append(created)
    out.assignments = {e: name[t] for e, t in res.assignments.items()}
    out.links = [
        Link(lk.identifier, name[lk.customer_id], lk.event_id, lk.rule) for lk in res.links
    ]
    out.conflicts = [
        Conflict(c.identifier, name[c.customer_id], c.event_id, c.reason) for c in res.conflicts
    ]
    # A retired id resolves to the cluster holding most of the events that first landed on
    # it, else to wherever its former survivor went.
    for cid in sorted(set(existing) - out.kept):
        scores = [(-counts[cid], first[tmp], tmp) for tmp, counts in origins.items() if counts[cid]]
        if scores:
            out.retired[cid] = name[min(scores)[2]]
    for cid in sorted(set(existing) - out.kept - set(out.retired)):
        target = merged_into.get(cid)
        seen: set[str] = set()
        while target is not None and target in out.retired and target not in seen:
            seen.add(target)
            target = out.retired[target]
        if target is None or target not in out.kept | {c.customer_id for c in out.created}:
            target = name[min(first, key=lambda t: first[t])] if first else None
        if target is not None:
            out.retired[cid] = target
    return out
