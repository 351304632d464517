"""Latest-wins profile documents (pure): traits and survey scores."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from profile_store.domain.cx import fold_score
from profile_store.domain.traits import combine_stored, flatten, merge_traits

EARLY, LATE = "2026-03-01T09:00:00.000000+00:00", "2026-03-02T09:00:00.000000+00:00"


def test_traits_keep_the_latest_value_and_skip_identifier_keys() -> None:
    late = merge_traits({}, {"name": "Ann B", "email": "a@b.io"}, LATE, "segment")
    both = merge_traits(late, {"name": "Ann A", "plan": "gold"}, EARLY, "segment")
    assert flatten(both) == {"name": "Ann B", "plan": "gold"}


def test_combining_two_customers_keeps_the_latest_per_key() -> None:
    a = merge_traits({}, {"name": "A", "city": "Lyon"}, EARLY, "x")
    b = merge_traits({}, {"name": "B"}, LATE, "y")
    assert flatten(combine_stored(a, b)) == {"name": "B", "city": "Lyon"}
    assert flatten(combine_stored(b, a)) == {"name": "B", "city": "Lyon"}


def test_scores_keep_the_latest_response_per_metric() -> None:
    late = fold_score({}, {"metric": "nps", "score": 3, "nps_category": "detractor"}, LATE, "s2")
    both = fold_score(late, {"metric": "nps", "score": 10}, EARLY, "s1")
    assert both["nps"] == {"score": 3, "at": LATE, "event_id": "s2", "nps_category": "detractor"}
    with_csat = fold_score(both, {"metric": "csat", "score": 4.5, "scale_max": 5}, EARLY, "s3")
    assert set(with_csat) == {"nps", "csat"}


def test_responses_without_a_numeric_score_or_known_metric_change_nothing() -> None:
    assert fold_score({}, {"metric": "nps", "score": "9"}, LATE, "s") == {}
    assert fold_score({}, {"metric": "nps", "score": True}, LATE, "s") == {}
    assert fold_score({}, {"metric": "stars", "score": 5}, LATE, "s") == {}


def test_a_trusted_source_wins_over_a_later_untrusted_one() -> None:
    from profile_store.domain.traits import TraitRules

    rules = TraitRules({"crm": 90, "twilio": 30})
    crm = merge_traits({}, {"name": "Ana Lima"}, EARLY, "crm", rules)
    chat = merge_traits(crm, {"name": "ana l", "mood": "ok"}, LATE, "twilio", rules)
    assert flatten(chat) == {"name": "Ana Lima", "mood": "ok"}
    assert flatten(
        combine_stored(merge_traits({}, {"name": "ana l"}, LATE, "twilio", rules), crm, rules)
    ) == {"name": "Ana Lima"}


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["crm", "shopify", "twilio", "segment"]),
            st.sampled_from([EARLY, LATE]),
            st.sampled_from(["A", "B", "C"]),
        ),
        min_size=1,
        max_size=6,
    ),
    st.randoms(use_true_random=False),
)
def test_traits_do_not_depend_on_arrival_order(
    updates: list[tuple[str, str, str]], rnd: random.Random
) -> None:
    def fold(items: list[tuple[str, str, str]]) -> dict[str, object]:
        doc: dict[str, object] = {}
        for source, at, value in items:
            doc = merge_traits(doc, {"name": value}, at, source)
        return flatten(doc)

    shuffled = list(updates)
    rnd.shuffle(shuffled)
    assert fold(updates) == fold(shuffled)


def test_default_name_priorities_shop_over_email_over_whatsapp_whatever_the_order() -> None:
    shop = ({"name": "Maria Lopez", "first_name": "Maria", "last_name": "Lopez"}, "shopify")
    mail = ({"name": "M. Lopez", "first_name": "M.", "last_name": "Lopez"}, "postmark")
    whatsapp = ({"name": "Mari 🌸"}, "twilio-messaging")
    times = [EARLY, LATE, "2026-03-03T09:00:00.000000+00:00"]
    for order in ([shop, mail, whatsapp], [whatsapp, mail, shop], [mail, whatsapp, shop]):
        stored: dict[str, object] = {}
        for (traits, source), at in zip(reversed(order), times, strict=True):
            stored = merge_traits(stored, traits, at, source)  # type: ignore[arg-type]
        assert flatten(stored)["name"] == "Maria Lopez"
    stored = merge_traits({}, whatsapp[0], EARLY, whatsapp[1])
    assert flatten(merge_traits(stored, mail[0], EARLY, mail[1]))["name"] == "M. Lopez"
