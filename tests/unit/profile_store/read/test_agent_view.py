"""Pure parts of the agent view: how a search query is read, open threads, the latest score."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from profile_store.read.errors import InvalidQuery
from profile_store.read.search import display_name
from profile_store.read.search_plan import next_prefix, plan_search, tsquery
from profile_store.read.summary import Message, latest_score, open_threads

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("q", "exact", "tokens", "prefix"),
    [
        ("(415) 555-0132", (("phone", "+14155550132"),), (), None),
        ("tel:+44 20 7946 0958", (("phone", "+442079460958"),), (), None),
        (" Maria@Shop.IO ", (("email", "maria@shop.io"),), (), "maria@shop.io"),
        ("maria@", (), (), "maria@"),
        ("Maria Lo", (), ("maria", "lo"), None),
        ("maria", (), ("maria",), "maria"),
        ("W-5001", (("order_id", "W-5001"),), (), "w-5001"),
        ("L 77", (), (), None),
        ("O'Brien-Smith", (), ("o", "brien", "smith"), None),
        # A local number: no phone match, no name; it may still be an order number.
        ("555-0100", (("order_id", "555-0100"),), (), None),
    ],
)
def test_plan_search(
    q: str, exact: tuple[tuple[str, str], ...], tokens: tuple[str, ...], prefix: str | None
) -> None:
    plan = plan_search(q, "US")
    assert (plan.exact, plan.name_tokens, plan.email_prefix) == (exact, tokens, prefix)
    assert plan.text == q.strip()


@pytest.mark.parametrize(
    ("q", "order", "prefix"),
    [
        ("#1001", "1001", "1001@"),
        ("1001", "1001", "1001@"),
        ("w-5001", "W-5001", "w-5001@"),
        ("1001@Acme.myshopify.com", "1001@acme.myshopify.com", None),
    ],
)
def test_order_numbers_are_searched_as_typed(q: str, order: str, prefix: str | None) -> None:
    plan = plan_search(q, "US")
    assert ("order_id", order) in plan.exact and plan.order_prefix == prefix
    assert plan_search("Maria Lopez").order_prefix is None


def test_plan_search_limits() -> None:
    with pytest.raises(InvalidQuery, match="empty"):
        plan_search(" \t ")
    with pytest.raises(InvalidQuery, match="256"):
        plan_search("x" * 257)
    assert len(plan_search("a b c d e f g h").name_tokens) == 5


def test_tsquery_and_prefix_bounds_are_safe() -> None:
    tokens = plan_search("ana & !lima | x:*").name_tokens
    assert tsquery(tokens) == "ana:* & lima:* & x:*"
    assert next_prefix("maria@") == "maria@"[:-1] + "A"
    assert next_prefix("a" + chr(0x10FFFF)) is None


def test_display_name() -> None:
    assert display_name({"name": " Ana Lima "}) == "Ana Lima"
    assert display_name({"first_name": "Ana", "last_name": "Lima"}) == "Ana Lima"
    assert display_name({"last_name": "Lima", "name": 3}) == "Lima"
    assert display_name({}) is None


def _msg(event_id: str, minutes: int, kind: str, **attrs: Any) -> Message:
    channel = "email" if kind.startswith("email") else "chat"
    return Message(event_id, channel, kind, T0 + timedelta(minutes=minutes), event_id, attrs)


def _open(*messages: Message) -> list[tuple[str, str, int, int]]:
    newest_first = sorted(messages, key=lambda m: m.occurred_at, reverse=True)
    return [
        (
            t.thread_id,
            t.event_id,
            int((t.waiting_since - T0) / timedelta(minutes=1)),
            int((t.last_at - T0) / timedelta(minutes=1)),
        )
        for t in open_threads(newest_first)
    ]


def test_unanswered_email_is_open_since_its_first_unanswered_message() -> None:
    assert _open(
        _msg("e1", 0, "email_received", thread_id="t1"),
        _msg("e2", 5, "email_sent", thread_id="t1"),
        _msg("e3", 10, "email_received", thread_id="t1"),
        _msg("e4", 20, "email_received", thread_id="t1"),
    ) == [("t1", "e4", 10, 20)]


def test_replies_and_ended_chats_close_threads() -> None:
    assert (
        _open(
            _msg("e1", 0, "email_received", thread_id="t1"),
            _msg("e2", 5, "email_sent", thread_id="t1"),
            _msg("c1", 1, "chat_message", conversation_id="k1", author_role="customer"),
            _msg("c2", 2, "chat_message", conversation_id="k1", author_role="bot"),
            _msg("c3", 3, "chat_message", conversation_id="k2"),
            _msg("c4", 4, "chat_ended", conversation_id="k2"),
        )
        == []
    )


def test_system_messages_and_unthreaded_chats_do_not_count() -> None:
    assert _open(
        _msg("c1", 1, "chat_message", conversation_id="k1", author_role="customer"),
        _msg("c2", 2, "chat_message", conversation_id="k1", author_role="system"),
        _msg("c3", 3, "chat_message", author_role="customer"),
        _msg("c4", 4, "chat_started", conversation_id="k9"),
        _msg("e1", 5, "email_received"),  # no thread id: the message is its own thread
    ) == [("e1", "e1", 5, 5), ("k1", "c1", 1, 1)]


def test_open_threads_are_newest_first_and_limited() -> None:
    messages = [_msg(f"e{i}", i, "email_received", thread_id=f"t{i}") for i in range(15)]
    found = open_threads(sorted(messages, key=lambda m: m.occurred_at, reverse=True), limit=3)
    assert [t.thread_id for t in found] == ["t14", "t13", "t12"]


def test_latest_score_picks_the_most_recent_metric() -> None:
    cx = {
        "nps": {"score": 9, "scale_max": 10, "at": "2026-11-20T09:00:00.000000+00:00"},
        "csat": {"score": 4, "scale_max": 5, "at": "2026-11-21T09:00:00.000000+00:00"},
        "ces": {"score": True, "at": "2026-11-22T09:00:00.000000+00:00"},
        "odd": "not a score",
    }
    best = latest_score(cx)
    assert best is not None and (best.metric, best.score, best.scale_max) == ("csat", 4, 5)
    assert latest_score({}) is None
