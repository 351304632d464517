"""Hypothesis strategies for the worker's input: valid canonical events and mutations of them."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import strategies as st

from schemas import CanonicalEvent
from tests.support.events import event
from tests.support.strategies import json_values


#: Text an event can carry: anything but NUL, which PostgreSQL cannot store (events refuse it).
def _storable_text(max_size: int) -> st.SearchStrategy[str]:
    return st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=max_size)


#: JSON an event can carry: 64-bit integers, finite floats, storable text.
wire_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _storable_text(20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(_storable_text(8), inner, max_size=3)
    ),
    max_leaves=10,
)

IDENTS = [
    ("email", "ana@shop.io"),
    ("email", "bob@shop.io"),
    ("phone", "+14155550100"),
    ("anonymous_id", "dev-1"),
    ("anonymous_id", "dev-2"),
    ("user_id", "u-1"),
    ("order_id", "W-1"),
]
FIELDS = list(CanonicalEvent.model_fields)


@st.composite
def valid_events(draw: st.DrawFn, prefix: str = "fz-") -> CanonicalEvent:
    """A well-formed event; attributes are arbitrary storable JSON."""
    idents = draw(st.lists(st.sampled_from(IDENTS), min_size=1, max_size=3, unique=True))
    attributes = draw(st.dictionaries(_storable_text(8), wire_json, max_size=3))
    return event(
        f"{prefix}{draw(st.integers(0, 40))}",
        *idents,
        minutes=draw(st.integers(0, 10_000)),
        channel=draw(st.sampled_from(["web", "chat", "email", "store"])),
        attributes=attributes,
    )


def _structural(draw: st.DrawFn, data: dict[str, Any]) -> dict[str, Any]:
    field = draw(st.sampled_from([*FIELDS, "extra"]))
    action = draw(st.sampled_from(["replace", "delete"]))
    if action == "delete":
        data.pop(field, None)
    else:
        data[field] = draw(json_values)
    return data


@st.composite
def mutated_records(draw: st.DrawFn) -> bytes:
    """A valid event's wire bytes after a structural change, byte flips, or truncation."""
    raw = draw(valid_events()).to_json()
    how = draw(st.sampled_from(["structural", "identifier", "bytes", "truncate", "as-is"]))
    if how == "structural":
        try:
            return orjson.dumps(_structural(draw, orjson.loads(raw)))
        except (TypeError, orjson.JSONEncodeError):
            return raw
    if how == "identifier":
        data = orjson.loads(raw)
        data["identifiers"][0] = {"type": draw(st.text(max_size=12)), "value": draw(json_values)}
        try:
            return orjson.dumps(data)
        except (TypeError, orjson.JSONEncodeError):
            return raw
    if how == "bytes":
        out = bytearray(raw)
        for _ in range(draw(st.integers(1, 4))):
            out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
        return bytes(out)
    if how == "truncate":
        return raw[: draw(st.integers(0, len(raw) - 1))]
    return raw
