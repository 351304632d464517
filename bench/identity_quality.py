"""Identity-resolution quality on labelled synthetic people: precision and recall of the links.

`python -m bench.identity_quality [--people N] [--seed S]` prints a table per scenario and
writes `build/bench/identity_quality.json`. Every generated event knows the person behind it;
the resolver (the same pure code the worker runs) never sees that label.

Link metrics are pairwise over each person's own identifiers (shared and blocked ones have
no single true owner and are left out): of the pairs of identifiers the resolver put in one
customer, the share that truly belong to one person (precision); of the pairs that do, the
share put together (recall). Event placement is reported too: an anonymous page view on a
kiosk cannot be told apart from the first person seen on it, so that figure is informational.

Deterministic scenarios are those the identifiers and rules settle: account holders, shared
devices between accounts, blocked placeholders, typos (a mistyped address is another
identifier); their link precision must be 1.0. A household phone is ambiguous evidence (the
same call from one person with two records, or from two people): reported, not judged.
"""

from __future__ import annotations

import argparse
import itertools
import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from profile_store.domain.identity import KnownCustomer, Resolution, Sighting, resolve_batch
from profile_store.domain.identity_rules import DEFAULT_RULES, IdentityRules
from schemas.identifiers import Identifier

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SCENARIOS = ("clean", "shared_device", "placeholder", "typo", "family_accounts", "family_phone")
DETERMINISTIC = frozenset({"clean", "shared_device", "placeholder", "typo"})


@dataclass(frozen=True)
class LabelledEvent:
    """A sighting and the person (and scenario) it truly belongs to."""

    sighting: Sighting
    person: str
    scenario: str


@dataclass
class _Person:
    pid: str
    scenario: str
    user_id: str | None
    emails: list[str]
    phone: str | None
    devices: list[str] = field(default_factory=list)


def _ident(t: str, v: str) -> Identifier:
    return Identifier(type=t, value=v)


def _typo(email: str, rng: random.Random) -> str:
    name, domain = email.split("@")
    i = rng.randrange(len(name) - 1)
    return f"{name[:i]}{name[i + 1]}{name[i]}{name[i + 2 :]}@{domain}"


def _people(rng: random.Random, count: int) -> list[_Person]:
    people: list[_Person] = []
    for n in range(count):
        scenario = SCENARIOS[n % len(SCENARIOS)]
        pid = f"p{n}"
        account = scenario in {"clean", "shared_device", "family_accounts"} or rng.random() < 0.5
        people.append(
            _Person(
                pid,
                scenario,
                f"acct-{n}" if account else None,
                [f"person{n}.{k}@mail{n % 7}.io" for k in range(rng.randint(1, 2))],
                f"+1415{n:07d}" if rng.random() < 0.8 else None,
                [f"dev-{n}-{k}" for k in range(rng.randint(1, 2))],
            )
        )
    # Households: family members share a home phone (with or without accounts).
    for scenario in ("family_accounts", "family_phone"):
        members = [p for p in people if p.scenario == scenario]
        for i in range(0, len(members) - 1, 2):
            home = f"+1650{i:07d}" if scenario == "family_phone" else f"+1651{i:07d}"
            members[i].phone = members[i + 1].phone = home
    return people


def _events(
    rng: random.Random, p: _Person, kiosks: list[str]
) -> Iterable[tuple[list[Identifier], str]]:
    emails = list(p.emails)
    if p.scenario == "typo":
        emails.append(_typo(emails[0], rng))
    for _ in range(rng.randint(3, 8)):
        kind = rng.choice(("web", "web_login", "email", "call", "order", "chat"))
        ids: list[Identifier] = []
        if kind in ("web", "web_login"):
            ids.append(_ident("anonymous_id", rng.choice(p.devices)))
            if p.scenario == "shared_device" and rng.random() < 0.5:
                ids = [_ident("anonymous_id", rng.choice(kiosks))]
            if kind == "web_login" and p.user_id:
                ids.append(_ident("user_id", p.user_id))
        elif kind == "email":
            ids.append(_ident("email", rng.choice(emails)))
        elif kind == "call" and p.phone:
            ids.append(_ident("phone", p.phone))
            if rng.random() < 0.5:
                ids.append(_ident("email", rng.choice(emails)))
        elif kind == "order":
            ids += [
                _ident("email", rng.choice(emails)),
                _ident("order_id", f"o-{p.pid}-{rng.random():.6f}"),
            ]
            if p.user_id:
                ids.append(_ident("user_id", p.user_id))
            if p.phone and rng.random() < 0.5:
                ids.append(_ident("phone", p.phone))
        else:
            ids.append(_ident("email", rng.choice(emails)))
        if p.scenario == "placeholder" and rng.random() < 0.5:
            ids.append(_ident("email", rng.choice(("noreply@shop.io", "test@example.com"))))
            ids.append(_ident("phone", "+10000000000"))
        if p.user_id and rng.random() < 0.3:
            ids.append(_ident("user_id", p.user_id))
        yield ids, kind


def generate(seed: int = 7, people: int = 600) -> list[LabelledEvent]:
    """People across the scenarios, and their events over a month in random order."""
    rng = random.Random(seed)
    kiosks = [f"kiosk-{k}" for k in range(3)]
    out: list[LabelledEvent] = []
    for p in _people(rng, people):
        for n, (ids, _) in enumerate(_events(rng, p, kiosks)):
            at = T0 + timedelta(minutes=rng.randint(0, 43_200))
            out.append(LabelledEvent(Sighting(f"{p.pid}-{n}", at, tuple(ids)), p.pid, p.scenario))
    rng.shuffle(out)
    return out


def _pairs(counts: Iterable[int]) -> int:
    return sum(n * (n - 1) // 2 for n in counts)


def _precision_recall(cells: Counter[tuple[str, str]]) -> tuple[float, float]:
    """Pairwise precision and recall from (predicted group, true person) -> count."""
    predicted: Counter[str] = Counter()
    truth: Counter[str] = Counter()
    for (group, person), n in cells.items():
        predicted[group] += n
        truth[person] += n
    together = _pairs(cells.values())
    p, t = _pairs(predicted.values()), _pairs(truth.values())
    return (together / p if p else 1.0, together / t if t else 1.0)


def _owners(events: Iterable[LabelledEvent], rules: IdentityRules) -> dict[Identifier, str]:
    """Identifiers that belong to exactly one person (shared and blocked ones have no truth)."""
    holders: dict[Identifier, set[str]] = {}
    for e in events:
        for i in e.sighting.identifiers:
            if not rules.is_reference(i) and not rules.is_blocked(i):
                holders.setdefault(i, set()).add(e.person)
    return {i: next(iter(p)) for i, p in holders.items() if len(p) == 1}


def _evidence_groups(
    events: Iterable[LabelledEvent], truth: dict[Identifier, str]
) -> dict[Identifier, Identifier]:
    """Each person-owned identifier's group when joined only by appearing in one event."""
    parent = {i: i for i in truth}

    def find(i: Identifier) -> Identifier:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for e in events:
        own = [i for i in e.sighting.identifiers if i in truth]
        for a, b in itertools.pairwise(own):
            parent[find(a)] = find(b)
    return {i: find(i) for i in truth}


def score(
    events: list[LabelledEvent], res: Resolution, rules: IdentityRules
) -> dict[str, float | int]:
    """Link precision/recall over each person's own identifiers; event placement too."""
    truth = _owners(events, rules)
    linked = {lk.identifier: lk.customer_id for lk in res.links}
    # An identifier that gave way everywhere stays alone: a group of its own.
    links = Counter((linked.get(i, f"alone:{i.type}:{i.value}"), p) for i, p in truth.items())
    placed = Counter((res.assignments[e.sighting.event_id], e.person) for e in events)
    link_p, link_r = _precision_recall(links)
    event_p, event_r = _precision_recall(placed)
    # The recall the events allow at best: identifiers of one person seen in one event.
    reachable = _evidence_groups(events, truth)
    possible = _pairs(Counter(reachable.values()).values())
    found = _pairs(Counter((linked.get(i), reachable[i]) for i in truth if i in linked).values())
    return {
        "events": len(events),
        "people": len({e.person for e in events}),
        "customers": len({res.assignments[e.sighting.event_id] for e in events}),
        "link_precision": link_p,
        "link_recall": link_r,
        "link_recall_of_evidence": found / possible if possible else 1.0,
        "event_precision": event_p,
        "event_recall": event_r,
    }


def evaluate(
    events: list[LabelledEvent], rules: IdentityRules = DEFAULT_RULES
) -> dict[str, dict[str, float | int]]:
    """Resolve every event in one go and score each scenario and the whole set."""
    seq = iter(range(1 << 62))

    def new_customer() -> KnownCustomer:
        return KnownCustomer(f"c{next(seq)}", T0)

    res = resolve_batch([e.sighting for e in events], {}, {}, new_customer, rules)
    report = {"all": score(events, res, rules)}
    for scenario in SCENARIOS:
        # Scored on the scenario's people, wherever the resolver put them: a wrong merge
        # with someone of another scenario counts against both.
        report[scenario] = score([e for e in events if e.scenario == scenario], res, rules)
    return report


def main(argv: list[str] | None = None) -> int:
    """Print the table and write the JSON figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("build/bench/identity_quality.json"))
    args = parser.parse_args(argv)
    report = evaluate(generate(args.seed, args.people))
    head = (
        "scenario",
        "kind",
        "events",
        "people",
        "customers",
        "link P",
        "link R",
        "R/evid",
        "event P",
    )
    print("{:<16} {:<14} {:>7} {:>7} {:>9} {:>8} {:>8} {:>8} {:>8}".format(*head))
    for name, row in report.items():
        kind = "all" if name == "all" else "deterministic" if name in DETERMINISTIC else "ambiguous"
        print(
            f"{name:<16} {kind:<14} {row['events']:>7} {row['people']:>7} {row['customers']:>9} "
            f"{row['link_precision']:>8.4f} {row['link_recall']:>8.4f} "
            f"{row['link_recall_of_evidence']:>8.4f} "
            f"{row['event_precision']:>8.4f}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    failed = [n for n in DETERMINISTIC if report[n]["link_precision"] < 1.0]
    if failed:
        print(f"precision below 1.0 on deterministic scenarios: {failed}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
