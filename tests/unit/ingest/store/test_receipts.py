"""Pure mapping of generic store receipts (the documented input model)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from ingest.store.receipts import MAX_RECEIPTS, map_receipt, map_receipts
from schemas import InvalidEvent
from schemas.events import decode_event

SAMPLES = Path(__file__).with_name("samples")
RECEIVED = datetime(2024, 11, 26, 9, 0, tzinfo=UTC)


def sample(name: str) -> dict[str, Any]:
    data = orjson.loads((SAMPLES / f"{name}.json").read_bytes())
    assert isinstance(data, dict)
    return data


def test_sale_golden() -> None:
    event = map_receipt(sample("receipt_sale"), RECEIVED, "GB")
    assert event.event_id == "store-receipt:LON-01:R-20241123-0042"
    assert (event.channel, event.kind, event.source) == ("store", "order_placed", "store-receipt")
    assert event.occurred_at == datetime(2024, 11, 23, 10, 15, 2, tzinfo=UTC)
    assert event.summary == "Purchase at store LON-01: 2 items, 19.90 GBP (receipt R-20241123-0042)"
    assert [(i.type, i.value) for i in event.identifiers] == [
        ("email", "tom@example.org"),
        ("phone", "+442079460958"),
        ("loyalty_id", "LOY-778812"),
    ]
    assert event.attributes["lines"] == [
        {
            "sku": "MUG-01",
            "description": "Mug",
            "quantity": "2",
            "unit_price": "9.95",
            "amount": "19.90",
        }
    ]
    assert decode_event(event.to_json()) == event


def test_return_by_negative_total_with_order_reference() -> None:
    event = map_receipt(sample("receipt_return"), RECEIVED, "GB")
    assert event.kind == "return"
    assert event.summary == "Return at store LON-01: 1 item, -9.95 GBP (receipt R-20241124-0007)"
    assert ("order_id", "W-5001") in {(i.type, i.value) for i in event.identifiers}
    assert event.attributes["receipt_type"] == "return"


def test_a_list_is_all_or_nothing() -> None:
    good, bad = sample("receipt_sale"), sample("receipt_sale")
    bad["currency"] = "euro"
    assert len(map_receipts([good, sample("receipt_return")], RECEIVED, "GB")) == 2
    with pytest.raises(InvalidEvent, match=r"^\[1\]\.currency: String should match"):
        map_receipts([good, bad], RECEIVED, "GB")
    with pytest.raises(InvalidEvent, match="over the"):
        map_receipts([good] * (MAX_RECEIPTS + 1), RECEIVED)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"receipt_id": ""}, r"^receipt_id: String should have at least 1"),
        ({"occurred_at": "2024-11-23T10:15:02"}, r"^occurred_at: Input should have timezone"),
        ({"total": "NaN"}, r"^total: "),
        ({"type": "gift"}, r"^type: Input should be 'sale' or 'return'"),
        ({"surprise": 1}, r"^surprise: Extra inputs are not permitted"),
        ({"customer": {"email": "nope"}}, r"^customer\.email: email is not an address"),
        ({"customer": {}}, r"^customer: needs one of email, phone"),
    ],
)
def test_bad_receipts_name_the_field(change: dict[str, Any], message: str) -> None:
    receipt = sample("receipt_sale")
    receipt.update(change)
    with pytest.raises(InvalidEvent, match=message):
        map_receipt(receipt, RECEIVED, "GB")
