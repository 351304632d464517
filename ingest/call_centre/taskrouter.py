"""Pure mapping of Twilio TaskRouter event callbacks (Twilio Flex's routing) for voice tasks.

TaskRouter POSTs every workspace event to the `EventCallbackUrl` as form fields (`EventType`,
`Timestamp`/`TimestampMs`, the task's `TaskSid`, `TaskAttributes` (JSON), `TaskAge`,
`TaskQueueName`, `TaskChannelUniqueName`, and for reservations the worker's `WorkerName`,
`ReservationSid`...). A voice task's attributes carry the caller (`from`, as `<Enqueue>`
and Flex set them) and the call's `call_sid`.

- `reservation.created` (the call rings at an agent) and `reservation.accepted` (answered):
  the call in progress on the caller's timeline, and a screen pop for the worker (one pop
  per reservation; a worker's name is its agent's API key name).
- `reservation.completed`: the contact record (`call_completed`) replaces that item.
- `task.canceled`: the caller left before an agent took the call (`call_abandoned`).
Every other event, and tasks of other channels, map to nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import orjson

from ingest.call_centre.common import duration_text
from ingest.call_centre.screen_pop import in_progress_event
from ingest.common import build_event, clip, identifier_type_of, try_identifier, unique
from schemas import CanonicalEvent, Channel, Identifier, InvalidEvent
from schemas.events import REVISION_KEY, make_event_id, revision_stamp
from schemas.identifiers import PHONE
from schemas.screen_pops import AGENT_NAME_PATTERN, MAX_AGENT_NAME, ScreenPop, pop_id_for

SOURCE: Final = "twilio-taskrouter"
MAX_BODY_BYTES: Final = 64 * 1024
#: Order of a task's events within one timestamp second (revisions must grow).
_STEP: Final = {
    "reservation.created": 1,
    "reservation.accepted": 2,
    "reservation.completed": 3,
    "task.canceled": 3,
}
_AGENT: Final = re.compile(AGENT_NAME_PATTERN)


def map_event_callback(
    params: Mapping[str, str], received_at: datetime, default_region: str = "US"
) -> list[CanonicalEvent]:
    """The events of one callback (none for events and channels not mapped)."""
    event_type = params.get("EventType", "")
    if event_type not in _STEP:
        return []
    task_sid = _required(params, "TaskSid")
    attributes = _task_attributes(params.get("TaskAttributes"))
    if not _is_voice(params, attributes):
        return []
    at = _event_time(params)
    age = _seconds(params, "TaskAge") or 0
    # TaskAge is whole seconds since the task was created: the call's start, to the second.
    times = (at.replace(microsecond=0) - timedelta(seconds=age), received_at)
    event_id = make_event_id(SOURCE, task_sid)
    revision = f"{revision_stamp(at)}:{_STEP[event_type]}"
    callers = _callers(attributes, default_region)
    call_sid = attributes.get("call_sid")
    reference = try_identifier("contact_id", call_sid, default_region)
    if not callers:
        return []  # a withheld or unusable caller id: nobody to show
    details = {
        "agent": params.get("WorkerName") or None,
        "queue": params.get("TaskQueueName") or None,
        "contact_id": call_sid if isinstance(call_sid, str) else None,
        "direction": "outbound" if attributes.get("direction") == "outbound" else "inbound",
        "task_sid": task_sid,
    }
    identifiers = (*callers, reference)
    if event_type.startswith("reservation.") and event_type != "reservation.completed":
        state = "ringing" if event_type == "reservation.created" else "connected"
        pop = _pop(params, event_id, at)
        return [
            in_progress_event(
                "body",
                event_id,
                times,
                identifiers,
                {**details, "state": state},
                pop,
                source=SOURCE,
                revision=revision,
            )
        ]
    return [_record(event_type, event_id, times, identifiers, details, age, params, revision)]


def _record(
    event_type: str,
    event_id: str,
    times: tuple[datetime, datetime],
    identifiers: tuple[Identifier | None, ...],
    details: dict[str, Any],
    age: int,
    params: Mapping[str, str],
    revision: str,
) -> CanonicalEvent:
    """The contact record: a completed call, or one the caller left in the queue."""
    completed = event_type == "reservation.completed"
    reason = params.get("TaskCompletedReason" if completed else "TaskCanceledReason")
    attrs = {
        **{k: v for k, v in details.items() if v is not None},
        "duration_s": age,
        "disposition": reason or ("completed" if completed else "canceled"),
        REVISION_KEY: revision,
    }
    if not completed:
        attrs.pop("agent", None)
    what = "Call" if completed else "Abandoned call"
    line = f"{what} ({attrs['direction']}, {duration_text(age)})"
    parts = [f"with agent {attrs['agent']}"] if "agent" in attrs else []
    parts += [f"queue {attrs['queue']}"] if "queue" in attrs else []
    return build_event(
        "body",
        event_id=event_id,
        channel=Channel.CALL_CENTRE,
        kind="call_completed" if completed else "call_abandoned",
        occurred_at=times[0],
        received_at=times[1],
        source=SOURCE,
        identifiers=unique(identifiers),
        summary=clip(f"{line} {', '.join(parts)}" if parts else line),
        attributes=attrs,
    )


def _pop(params: Mapping[str, str], event_id: str, at: datetime) -> ScreenPop | None:
    """The worker's pop, when its name can be an API key name."""
    agent = params.get("WorkerName", "").strip()
    reservation = params.get("ReservationSid", "").strip()
    if not agent or len(agent) > MAX_AGENT_NAME or not _AGENT.match(agent) or not reservation:
        return None
    return ScreenPop(agent=agent, pop_id=pop_id_for(f"{event_id}:{reservation}", agent), rang_at=at)


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "").strip()
    if not value:
        raise InvalidEvent(f"{name}: is required")
    if len(value) > 64:
        raise InvalidEvent(f"{name}: is longer than 64 characters")
    return value


def _task_attributes(raw: str | None) -> Mapping[str, Any]:
    if not raw:
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidEvent("TaskAttributes: is not JSON") from None
    if not isinstance(value, Mapping):
        raise InvalidEvent("TaskAttributes: must be a JSON object")
    return value


def _is_voice(params: Mapping[str, str], attributes: Mapping[str, Any]) -> bool:
    channel = params.get("TaskChannelUniqueName", "")
    return channel == "voice" or (not channel and isinstance(attributes.get("call_sid"), str))


def _seconds(params: Mapping[str, str], name: str) -> int | None:
    value = params.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 10:
        raise InvalidEvent(f"{name}: must be a whole number of seconds")
    return int(value)


def _event_time(params: Mapping[str, str]) -> datetime:
    """When the event happened: `TimestampMs` when sent, else `Timestamp` (epoch seconds)."""
    for name, scale in (("TimestampMs", 1000), ("Timestamp", 1)):
        value = params.get(name, "").strip()
        if value:
            if not value.isdigit() or len(value) > 16:
                raise InvalidEvent(f"{name}: must be a Unix time")
            return datetime.fromtimestamp(int(value) / scale, UTC)
    raise InvalidEvent("Timestamp: is required")


def _callers(attributes: Mapping[str, Any], region: str) -> tuple[Identifier, ...]:
    """The caller: `from` (a phone; `client:` browser callers have none), and identifiers
    among the task's attributes and Flex's `customers` object."""
    found: list[Identifier | None] = []
    for key in ("from", "caller"):
        value = attributes.get(key)
        if isinstance(value, str) and not value.startswith("client:"):
            found.append(try_identifier(PHONE, value, region))
    customers = attributes.get("customers")
    for source in (attributes, customers if isinstance(customers, Mapping) else {}):
        for key, value in source.items():
            type_ = identifier_type_of(key)
            if type_ is not None:
                found.append(try_identifier(type_, value, region))
    return unique(found)
