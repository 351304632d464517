"""Pure parts of the console's reads: how a query is matched (customer ids, local numbers)
and web activity grouped into visits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from profile_store.read.search_plan import plan_search
from profile_store.read.visits import VISIT_GAP, WebHit, group_visits, visits_page

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_a_customer_id_is_searched_as_one() -> None:
    plan = plan_search("cus_4f0c2a", "US")
    assert plan.customer_id == "cus_4f0c2a" and "customer_id" in plan.tried
    assert plan.name_tokens == ()
    assert plan_search("customer", "US").customer_id is None
    assert plan_search("cus_", "US").customer_id is None


def test_a_local_number_is_searched_by_its_digits() -> None:
    plan = plan_search("555-0132", "US")
    assert plan.local_phone == "5550132" and "local_phone" in plan.tried
    # A complete number is an exact phone match, not a local one.
    full = plan_search("(415) 555-0132", "US")
    assert full.local_phone is None and ("phone", "+14155550132") in full.exact
    assert plan_search("Maria", "US").local_phone is None


def _hits(*minutes: float) -> list[WebHit]:
    """Web events at T0 + each minute offset, newest first."""
    at = sorted((T0 + timedelta(minutes=m) for m in minutes), reverse=True)
    return [WebHit(f"e{i}", "page_viewed", t, f"Viewed {i}") for i, t in enumerate(at)]


def test_visits_split_on_gaps_over_thirty_minutes() -> None:
    groups = group_visits(_hits(0, 10, 40, 71, 200))
    assert [len(g) for g in groups] == [1, 1, 3]
    assert group_visits(_hits(0, 30)) == [_hits(0, 30)]  # a gap of exactly 30 min stays one
    assert group_visits([]) == []
    assert timedelta(minutes=30) == VISIT_GAP


def test_a_page_of_visits_continues_before_its_oldest_visit() -> None:
    page = visits_page(_hits(0, 10, 100, 110, 300), more=False, limit=20)
    assert [v.events for v in page.items] == [1, 2, 2]
    assert page.items[0].ended_at == page.items[0].started_at == T0 + timedelta(minutes=300)
    assert page.items[1].listed[0].occurred_at == T0 + timedelta(minutes=110)
    assert page.next_until is None and not any(v.partial for v in page.items)
    # The read stopped at its bound: the oldest visit may go on, so it is left for later.
    cut = visits_page(_hits(0, 10, 100, 110, 300), more=True, limit=20)
    assert [v.events for v in cut.items] == [1, 2]
    assert cut.next_until == T0 + timedelta(minutes=100)
    # One visit longer than the bound is shown, marked partial.
    bot = visits_page(_hits(*range(0, 50, 5)), more=True, limit=20)
    assert len(bot.items) == 1 and bot.items[0].partial and bot.next_until == T0
    # More visits than asked for: the rest come with the next page.
    few = visits_page(_hits(0, 100, 200), more=False, limit=2)
    assert len(few.items) == 2 and few.next_until == T0 + timedelta(minutes=100)
