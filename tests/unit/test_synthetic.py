"""The demo's contact centre: deterministic, through the real adapters, nothing after its
anchor, and figures that read like a real contact centre's (at a small size)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from services.demo import DemoPlan, scripted
from services.synthetic import native
from services.synthetic.people import Person, person
from services.synthetic.population import life, population, requests
from tests.support.demo import canonical, figures

ANCHOR = datetime(2026, 5, 1, 12, tzinfo=UTC)


def test_people_live_the_same_days_every_time() -> None:
    assert life(21, 7, ANCHOR, 90) == life(21, 7, ANCHOR, 90)
    assert life(21, 7, ANCHOR, 90) != life(21, 8, ANCHOR, 90)
    first = [(r.path, r.body) for r in requests(population(21, 40, ANCHOR, 90))]
    again = [(r.path, r.body) for r in requests(population(21, 40, ANCHOR, 90))]
    assert first == again


def test_nothing_happens_after_the_anchor_and_requests_go_in_time_order() -> None:
    items = population(21, 200, ANCHOR, 90)
    assert max(i.at for i in items) < ANCHOR
    assert min(i.at for i in items) >= ANCHOR - timedelta(days=90)
    events = [e for r in requests(items) for e in canonical(r, ANCHOR)]
    assert max(e.occurred_at for e in events) <= ANCHOR
    batches = [r for r in requests(items) if r.path in native.BATCH]
    assert all(r.events <= native.BATCH[r.path] for r in batches)


def test_every_request_maps_through_its_real_adapter_with_unique_ids() -> None:
    reqs = [*requests(population(21, 150, ANCHOR, 90)), *scripted.requests(ANCHOR)]
    events = [e for r in reqs for e in canonical(r, ANCHOR)]
    assert len(events) == sum(r.events for r in reqs)
    ids = Counter(e.event_id for e in events)
    assert ids.most_common(1)[0][1] == 1
    kinds = Counter(e.kind for e in events)
    for kind in ("page_viewed", "identified", "chat_message", "email_received", "email_sent",
                 "call_completed", "order_placed", "survey_response"):  # fmt: skip
        assert kinds[kind] > 0, kind
    assert {r.path for r in reqs} == {native.SEGMENT, native.CHAT, native.RECEIPTS,
                                      native.CONNECT, native.SURVEYS, native.EMAIL,
                                      native.SHOPIFY}  # fmt: skip


def test_the_plan_is_kept_so_a_second_load_sends_the_same(tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    first = DemoPlan.for_folder(folder)
    assert (folder / "demo.json").exists()
    assert DemoPlan.for_folder(folder) == first
    assert first.anchor.minute == 0 and first.customers == 3000 and first.days == 90


def test_the_figures_read_like_a_contact_centre() -> None:
    got = dict(figures(21, 300, ANCHOR, 90))
    totals = got["totals"]
    # SQM: call-centre FCR averages 70 % (good 70-79 %); about 30 % call back.
    assert 55 <= totals["fcr_rate"] <= 85 and 15 <= totals["repeat_contact_rate"] <= 40
    assert got["call_centre"]["fcr_rate"] > got["email"]["fcr_rate"]
    assert totals["failed_self_service_rate"] > 30 and totals["channel_switch_rate"] > 20
    assert -10 <= totals["nps"] <= 60 and totals["csat"] >= 50
    # Scores follow the experience: repeating yourself and switching channel cost NPS.
    one = got["journey:one_contact"]["nps"]
    assert one > got["journey:repeated"]["nps"] and one > got["journey:switched"]["nps"]
    assert got["web"]["avg_hours_to_first_purchase"] is not None
    assert got["store"]["avg_hours_to_first_purchase"] is not None


def test_maria_and_the_others_share_no_identifier_with_the_crowd() -> None:
    def ids(p: Person) -> set[str]:
        return {p.email, p.phone_e164, p.user_id, *p.devices, p.loyalty_id or ""} - {""}

    crowd = set().union(*(ids(person(21, n)) for n in range(3000)))
    for n in range(len(scripted.PEOPLE)):
        assert not ids(scripted.scripted_person(n)) & crowd
