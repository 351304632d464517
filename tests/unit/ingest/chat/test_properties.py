"""Property tests: whatever arrives, the chat mappings return events or raise InvalidEvent."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.chat.mapping import map_chat_events
from ingest.chat.twilio import MAPPED, form_fields, map_webhook, parse_form
from schemas import CanonicalEvent, InvalidEvent
from schemas.events import decode_event
from tests.support.strategies import finite_json_values as json_values
from tests.support.strategies import timestamps

RECEIVED = datetime(2024, 11, 23, 12, 0, tzinfo=UTC)
SAMPLES = Path(__file__).with_name("samples")
BASE = form_fields(parse_form((SAMPLES / "on_message_added_whatsapp.form").read_bytes()))

sids = st.one_of(
    st.from_regex(r"CH[0-9a-f]{32}", fullmatch=True),
    st.from_regex(r"IM[0-9a-f]{32}", fullmatch=True),
    st.text(max_size=40),
)
authors = st.one_of(
    st.text(max_size=30),
    st.emails(),
    st.from_regex(r"(whatsapp:|sms:)?\+?[0-9 ()-]{0,18}", fullmatch=True),
    st.sampled_from(["system", "agent@threadline-shop.com", "cust-1"]),
)
attributes = st.one_of(
    st.text(max_size=30),
    st.builds(
        lambda v: json.dumps({"threadline": v}),
        st.one_of(
            json_values,
            st.fixed_dictionaries(
                {},
                optional={
                    "author_role": st.one_of(st.sampled_from(["agent", "bot"]), json_values),
                    "customer": st.one_of(
                        json_values,
                        st.fixed_dictionaries({}, optional={"email": authors, "phone": authors}),
                    ),
                },
            ),
        ),
    ),
)
twilioish = st.fixed_dictionaries(
    {"EventType": st.one_of(st.sampled_from([*MAPPED, "onMessageAdd"]), st.text(max_size=20))},
    optional={
        "ConversationSid": sids,
        "MessageSid": sids,
        "Author": authors,
        "Body": st.text(max_size=60),
        "Index": st.one_of(st.integers().map(str), st.text(max_size=5)),
        "DateCreated": timestamps,
        "StateUpdated": timestamps,
        "StateTo": st.one_of(st.sampled_from(["closed", "inactive"]), st.text(max_size=8)),
        "Attributes": attributes,
        "Media": st.text(max_size=20),
        "MessagingBinding.Address": authors,
        "Source": st.text(max_size=10),
    },
)


def check(events: list[CanonicalEvent]) -> None:
    for event in events:
        assert decode_event(event.to_json()) == event


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(twilioish)
def test_twilio_shaped_params_only_ever_raise_invalid_event(fields: dict[str, str]) -> None:
    with contextlib.suppress(InvalidEvent):
        check(map_webhook(fields, RECEIVED, "US", ("threadline-shop.com",)))
    with contextlib.suppress(InvalidEvent):
        check(map_webhook({**BASE, **fields}, RECEIVED, "GB"))


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_random_form_bodies_only_ever_raise_invalid_event(raw: bytes) -> None:
    with contextlib.suppress(InvalidEvent):
        check(map_webhook(form_fields(parse_form(raw)), RECEIVED))


chatish = st.fixed_dictionaries(
    {
        "conversation_id": st.one_of(st.text(max_size=20), json_values),
        "type": st.one_of(st.sampled_from(["message", "started", "ended"]), json_values),
    },
    optional={
        "message_id": st.one_of(st.text(max_size=20), json_values),
        "author_role": st.one_of(st.sampled_from(["customer", "agent", "bot"]), json_values),
        "text": st.one_of(st.text(max_size=50), json_values),
        "occurred_at": st.one_of(timestamps, json_values),
        "customer": st.one_of(
            json_values,
            st.fixed_dictionaries(
                {}, optional={"email": authors, "phone": authors, "user_id": st.text(max_size=9)}
            ),
        ),
        "metadata": json_values,
    },
)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(json_values, chatish))
def test_chat_events_only_ever_raise_invalid_event(body: Any) -> None:
    for attempt in (body, {"events": [body]}, {"events": [body, body]}):
        with contextlib.suppress(InvalidEvent):
            check(map_chat_events(attempt, RECEIVED))
