"""Pure mapping of `POST /call-centre/screen-pop`: a call reaching an agent, from any CTI.

    {"agent": "desk-7",                      # required: the agent's API key name
     "caller": {"phone": "(415) 555-0132"},  # required: any of phone, email, user_id,
                                             #   loyalty_id, order_id
     "contact_id": "5ca522ec-...",           # the CTI's id of the call (recommended)
     "platform": "amazon-connect",           # optional: whose contact record will follow
     "queue": "Orders", "direction": "inbound",
     "occurred_at": "2026-11-23T10:30:05Z"}  # optional: when it rang (default: received)

One `call_in_progress` event on the caller's timeline, carrying the pop. With `platform`
`amazon-connect` its id is the one Connect's contact record for `contact_id` will have, so
the record replaces it in place when it arrives (a higher revision); otherwise it is
`screen-pop:<contact_id>`. The same call announced twice for one agent pops once.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from ingest.common import build_event, clip, obj, parse_ident, text, unique
from schemas import CanonicalEvent, Channel, Identifier, InvalidEvent
from schemas.events import REVISION_KEY, make_event_id, revision_stamp
from schemas.identifiers import EMAIL, LOYALTY_ID, ORDER_ID, PHONE, USER_ID
from schemas.screen_pops import (
    AGENT_NAME_PATTERN,
    CALL_IN_PROGRESS,
    MAX_AGENT_NAME,
    SCREEN_POP_KEY,
    ScreenPop,
    pop_id_for,
)
from schemas.timestamps import parse_timestamp

SOURCE: Final = "screen-pop"
MAX_BODY_BYTES: Final = 16 * 1024
#: Platforms whose contact record later replaces the in-progress item: its event-id namespace.
PLATFORMS: Final = {"amazon-connect": "amazon-connect"}
CALLER_TYPES: Final = (PHONE, EMAIL, USER_ID, LOYALTY_ID, ORDER_ID)
_AGENT: Final = re.compile(AGENT_NAME_PATTERN)
_DIRECTIONS: Final = ("inbound", "outbound")


def map_screen_pop(body: Any, received_at: datetime, default_region: str = "US") -> CanonicalEvent:
    """The in-progress call event carrying the pop, or `InvalidEvent` naming the problem."""
    if not isinstance(body, Mapping):
        raise InvalidEvent("body: must be a JSON object")
    agent = text(body, "agent", "agent", required=True)
    assert agent is not None
    if len(agent) > MAX_AGENT_NAME or not _AGENT.match(agent):
        raise InvalidEvent("agent: must be an API key name (letters, digits, . _ @ -)")
    caller = _caller(obj(body, "caller", "caller"), default_region)
    contact_id = text(body, "contact_id", "contact_id")
    platform = text(body, "platform", "platform")
    if platform is not None and platform not in PLATFORMS:
        raise InvalidEvent(f"platform: must be one of {', '.join(sorted(PLATFORMS))}")
    if platform is not None and contact_id is None:
        raise InvalidEvent("contact_id: is required with platform")
    direction = text(body, "direction", "direction") or "inbound"
    if direction not in _DIRECTIONS:
        raise InvalidEvent("direction: must be inbound or outbound")
    raw_time = body.get("occurred_at")
    rang_at = received_at if raw_time is None else parse_timestamp(raw_time, "occurred_at")
    natural = contact_id or uuid.uuid4().hex
    event_id = make_event_id(PLATFORMS[platform] if platform else SOURCE, natural)
    queue = text(body, "queue", "queue")
    pop = ScreenPop(agent=agent, pop_id=pop_id_for(event_id, agent), rang_at=rang_at)
    reference = parse_ident("contact_id", contact_id, default_region, "contact_id")
    return in_progress_event(
        "body",
        event_id,
        (rang_at, received_at),
        (*caller, reference),
        {
            "state": "ringing",
            "agent": agent,
            "queue": queue,
            "contact_id": contact_id,
            "direction": direction,
            "platform": platform,
        },
        pop,
    )


def _caller(caller: Mapping[str, Any], region: str) -> tuple[Identifier, ...]:
    found = unique(
        parse_ident(type_, caller.get(type_), region, f"caller.{type_}") for type_ in CALLER_TYPES
    )
    if not found:
        raise InvalidEvent(f"caller: needs one of {', '.join(CALLER_TYPES)}")
    return found


def in_progress_event(
    where: str,
    event_id: str,
    times: tuple[datetime, datetime],
    identifiers: tuple[Identifier | None, ...],
    details: Mapping[str, Any],
    pop: ScreenPop | None,
    *,
    source: str = SOURCE,
    revision: str | None = None,
) -> CanonicalEvent:
    """A call on the caller's timeline while it is going on (`call_in_progress`), with the
    pop it asks for; a contact record with the same event id and a higher revision replaces
    it. Shared by the generic route and the native CTI mappings."""
    occurred_at, received_at = times
    attrs = {k: v for k, v in details.items() if v is not None}
    attrs[REVISION_KEY] = revision or revision_stamp(occurred_at)
    if pop is not None:
        attrs[SCREEN_POP_KEY] = pop.attribute()
    state = "ringing" if attrs.get("state") == "ringing" else "in progress"
    with_agent = f" for agent {attrs['agent']}" if "agent" in attrs else ""
    queue = f", queue {attrs['queue']}" if "queue" in attrs else ""
    return build_event(
        where,
        event_id=event_id,
        channel=Channel.CALL_CENTRE,
        kind=CALL_IN_PROGRESS,
        occurred_at=occurred_at,
        received_at=received_at,
        source=source,
        identifiers=unique(identifiers),
        summary=clip(f"Call {state} ({attrs.get('direction', 'inbound')}){with_agent}{queue}"),
        attributes=attrs,
    )
