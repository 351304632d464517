"""Property tests: whatever arrives, the store mappings map it or raise InvalidEvent."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.store import receipts, shopify
from schemas import CanonicalEvent, InvalidEvent
from schemas.events import decode_event
from tests.support.strategies import json_values

SAMPLES = Path(__file__).with_name("samples")
RECEIVED = datetime(2024, 11, 26, 9, 0, tzinfo=UTC)
ORDER = orjson.loads((SAMPLES / "shopify_orders_create.json").read_bytes())
RECEIPT = orjson.loads((SAMPLES / "receipt_sale.json").read_bytes())

timestamps = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()), json_values
)


def check(events: list[CanonicalEvent]) -> None:
    for event in events:
        assert decode_event(event.to_json()) == event


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_random_json_only_ever_raises_invalid_event(body: Any) -> None:
    with contextlib.suppress(InvalidEvent):
        check([shopify.map_order(body, RECEIVED)])
    with contextlib.suppress(InvalidEvent):
        check(receipts.map_receipts(body, RECEIVED))


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(st.sampled_from(sorted(ORDER)), st.one_of(json_values, timestamps), max_size=5),
    st.lists(st.dictionaries(st.sampled_from(["title", "quantity", "price", "sku"]), json_values)),
    st.dictionaries(st.sampled_from(["id", "email", "phone"]), json_values),
)
def test_mutated_orders_only_ever_raise_invalid_event(
    top: dict[str, Any], lines: list[dict[str, Any]], customer: dict[str, Any]
) -> None:
    order = {**ORDER, **top}
    with contextlib.suppress(InvalidEvent):
        check([shopify.map_order({**order, "line_items": lines, "customer": customer}, RECEIVED)])
    with contextlib.suppress(InvalidEvent):
        check([shopify.map_order(order, RECEIVED)])


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from([*sorted(RECEIPT), "order_id"]),
        st.one_of(json_values, timestamps),
        max_size=4,
    ),
    st.dictionaries(st.sampled_from(["email", "phone", "loyalty_id", "user_id"]), json_values),
)
def test_mutated_receipts_only_ever_raise_invalid_event(
    top: dict[str, Any], customer: dict[str, Any]
) -> None:
    with contextlib.suppress(InvalidEvent):
        check(receipts.map_receipts({**RECEIPT, **top}, RECEIVED))
    with contextlib.suppress(InvalidEvent):
        check(receipts.map_receipts([{**RECEIPT, "customer": customer}], RECEIVED))
