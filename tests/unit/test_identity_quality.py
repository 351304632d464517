"""The labelled identity benchmark: its metric on known cases, and the precision bar."""

from __future__ import annotations

from datetime import UTC, datetime

from bench.identity_quality import DETERMINISTIC, LabelledEvent, evaluate, generate
from profile_store.domain.identity import Sighting
from schemas import Identifier

T = datetime(2026, 1, 1, tzinfo=UTC)


def labelled(eid: str, person: str, *ids: tuple[str, str], minute: int = 0) -> LabelledEvent:
    at = T.replace(minute=minute)
    idents = tuple(Identifier(type=t, value=v) for t, v in ids)
    return LabelledEvent(Sighting(eid, at, idents), person, "clean")


def test_a_wrong_merge_costs_precision_and_a_missed_link_costs_recall() -> None:
    events = [
        labelled("1", "ann", ("email", "ann@x.io"), ("user_id", "a")),
        labelled("2", "bob", ("email", "bob@x.io"), minute=1),
        # Bob types Ann's address at checkout: the resolver links them, wrongly.
        labelled("3", "bob", ("email", "bob@x.io"), ("email", "ann@x.io"), minute=2),
    ]
    row = evaluate(events)["clean"]
    # ann@ is carried by both people: no single true owner, left out. The one pair put
    # together (Ann's user id, bob@) is wrong; no true pair exists.
    assert (row["link_precision"], row["link_recall"]) == (0.0, 1.0)
    events.append(labelled("4", "ann", ("user_id", "a"), ("email", "ann2@x.io"), minute=3))
    events.append(labelled("5", "ann", ("email", "ann3@x.io"), minute=4))  # never joined
    row = evaluate(events)["clean"]
    # Together: a, bob@, ann2@ -> pairs (a, ann2@) right, two with bob@ wrong.
    assert row["link_precision"] == 1 / 3
    # Ann's true pairs: (a, ann2@), (a, ann3@), (ann2@, ann3@); only the first found...
    assert row["link_recall"] == 1 / 3
    # ...which is all her events allowed: ann3@ was never seen with anything.
    assert row["link_recall_of_evidence"] == 1.0


def test_precision_is_one_on_every_deterministic_scenario() -> None:
    report = evaluate(generate(seed=11, people=600))
    for name in DETERMINISTIC:
        assert report[name]["link_precision"] == 1.0, name
    assert 0.9 < report["all"]["link_recall_of_evidence"] <= 1.0
