"""Pure mapping of Amazon Connect contact records (CTRs) to canonical events (no I/O).

Kinds: a VOICE contact that reached an agent is `call_completed`; one that waited in a
queue but never reached an agent is `call_abandoned`; one that reached neither (flow-only,
failed outbound) is `call_missed`. CHAT contacts are `chat` / `chat_ended`, TASK contacts
`call_centre` / `task_completed`, EMAIL contacts `email` / `email_received` (`email_sent`
when outbound). Connect delivers records at least once and re-delivers a contact when it
changes, so `event_id` comes from `ContactId` and the revision from `LastUpdateTimestamp`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from ingest.call_centre.common import duration_text, seconds
from ingest.call_centre.records import (
    MAX_BODY_BYTES,
    MAX_RECORDS,
    FirehoseRecord,
    parse_records,
    records_of,
)
from ingest.common import (
    build_event,
    clip,
    identifier_type_of,
    names_in,
    obj,
    text,
    try_identifier,
    unique,
)
from schemas import CanonicalEvent, Channel, Identifier, InvalidEvent, InvalidIdentifier
from schemas.events import REVISION_KEY, encode_within_limits, make_event_id, revision_stamp
from schemas.identifiers import EMAIL, PHONE
from schemas.timestamps import parse_timestamp as iso_timestamp

SOURCE: Final = "amazon-connect"
MAX_CUSTOM_ATTRIBUTES: Final = 50
__all__ = [
    "MAX_BODY_BYTES",
    "MAX_RECORDS",
    "map_firehose",
    "map_record",
    "map_records",
    "parse_records",
]
_CHANNELS: Final = {"VOICE", "CHAT", "TASK", "EMAIL"}
_OUTBOUND: Final = {"OUTBOUND", "CALLBACK", "API", "EXTERNAL_OUTBOUND", "AGENT_REPLY"}


def map_records(
    records: list[Any], received_at: datetime, default_region: str = "US"
) -> list[CanonicalEvent]:
    """Map contact records, all or nothing, keeping the newest `LastUpdateTimestamp` per contact.

    Of two records of one contact with the same `LastUpdateTimestamp`, the later one wins.
    """
    newest: dict[str, tuple[datetime, CanonicalEvent]] = {}
    for index, record in enumerate(records):
        event, updated = map_record(record, received_at, default_region, path=f"[{index}]")
        kept = newest.get(event.event_id)
        if kept is None or updated >= kept[0]:
            newest[event.event_id] = (updated, event)
    return [event for _, event in newest.values()]


def map_record(
    record: Any, received_at: datetime, default_region: str = "US", *, path: str = ""
) -> tuple[CanonicalEvent, datetime]:
    """One contact record as an event, with its `LastUpdateTimestamp` (for deduplication)."""

    def loc(name: str) -> str:
        return f"{path}.{name}" if path else name

    if not isinstance(record, Mapping):
        raise InvalidEvent(f"{path or 'record'}: must be a JSON object")
    contact_id = text(record, "ContactId", loc("ContactId"), required=True)
    assert contact_id is not None
    channel = text(record, "Channel", loc("Channel")) or "VOICE"
    if channel not in _CHANNELS:
        raise InvalidEvent(f"{loc('Channel')}: must be one of {', '.join(sorted(_CHANNELS))}")
    method = text(record, "InitiationMethod", loc("InitiationMethod")) or "INBOUND"
    started = iso_timestamp(record.get("InitiationTimestamp"), loc("InitiationTimestamp"))
    ended = _optional_time(record, "DisconnectTimestamp", loc)
    updated = _optional_time(record, "LastUpdateTimestamp", loc) or ended or started
    agent = obj(record, "Agent", loc("Agent"))
    queue = obj(record, "Queue", loc("Queue"))
    skipped: list[str] = []
    identifiers = _identifiers(record, contact_id, default_region, loc, skipped)
    connected = agent.get("ConnectedToAgentTimestamp") is not None
    if connected:
        iso_timestamp(agent["ConnectedToAgentTimestamp"], loc("Agent.ConnectedToAgentTimestamp"))
    kind, event_channel = _kind(channel, method, connected, bool(queue))
    attrs = _attributes(record, agent, queue, method, channel, started, ended, loc)
    attrs[REVISION_KEY] = revision_stamp(updated)
    if skipped:
        attrs["skipped_identifiers"] = skipped
    event = build_event(
        path or "record",
        event_id=make_event_id(SOURCE, contact_id),
        channel=event_channel,
        kind=kind,
        occurred_at=started,
        received_at=received_at,
        source=SOURCE,
        identifiers=identifiers,
        summary=clip(_summary(kind, attrs)),
        attributes=attrs,
    )
    return event, updated


def _optional_time(record: Mapping[str, Any], name: str, loc: Any) -> datetime | None:
    value = record.get(name)
    return None if value is None else iso_timestamp(value, loc(name))


def _kind(channel: str, method: str, connected: bool, queued: bool) -> tuple[str, Channel]:
    if channel == "CHAT":
        return "chat_ended", Channel.CHAT
    if channel == "TASK":
        return "task_completed", Channel.CALL_CENTRE
    if channel == "EMAIL":
        return ("email_sent" if method in _OUTBOUND else "email_received"), Channel.EMAIL
    if connected:
        return "call_completed", Channel.CALL_CENTRE
    return ("call_abandoned" if queued else "call_missed"), Channel.CALL_CENTRE


def _identifiers(
    record: Mapping[str, Any], contact_id: str, region: str, loc: Any, skipped: list[str]
) -> tuple[Identifier, ...]:
    """Customer endpoint and identifier-like custom attributes; unusable values are skipped.

    Attributes are free-form flow data and caller ids can be withheld ("anonymous"), so a
    value that is not an identifier is noted in `skipped_identifiers`, never fatal.
    """
    found: list[Identifier] = []
    endpoint = obj(record, "CustomerEndpoint", loc("CustomerEndpoint"))
    address = text(endpoint, "Address", loc("CustomerEndpoint.Address"))
    kind = text(endpoint, "Type", loc("CustomerEndpoint.Type")) or "TELEPHONE_NUMBER"
    if address is not None:
        type_ = EMAIL if kind == "EMAIL_ADDRESS" else PHONE if kind == "TELEPHONE_NUMBER" else None
        ident = try_identifier(type_, address, region) if type_ else None
        if ident is not None:
            found.append(ident)
        elif type_ is not None:
            skipped.append("CustomerEndpoint.Address")
    for key, value in obj(record, "Attributes", loc("Attributes")).items():
        type_ = identifier_type_of(key)
        if type_ is None or value is None or value == "":
            continue
        ident = try_identifier(type_, value, region)
        if ident is None:
            skipped.append(f"Attributes.{str(key)[:60]}")
        else:
            found.append(ident)
    try:
        found.append(Identifier.parse("contact_id", contact_id))
    except InvalidIdentifier as exc:
        raise InvalidEvent(f"{loc('ContactId')}: {exc}") from None
    return unique(found)


def _plain(value: Any) -> bool:
    """A scalar that survives the wire (64-bit ints, finite floats)."""
    if isinstance(value, str | bool):
        return True
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    return isinstance(value, float) and value == value and abs(value) != float("inf")


def _attributes(
    record: Mapping[str, Any],
    agent: Mapping[str, Any],
    queue: Mapping[str, Any],
    method: str,
    channel: str,
    started: datetime,
    ended: datetime | None,
    loc: Any,
) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "contact_id": record["ContactId"],
        "channel": channel,
        "initiation_method": method,
        "direction": "outbound" if method in _OUTBOUND else "inbound",
    }
    if ended is not None:
        attrs["ended_at"] = ended.isoformat()
        attrs["duration_s"] = max(int((ended - started).total_seconds()), 0)
    optional = {
        "initial_contact_id": text(record, "InitialContactId", loc("InitialContactId")),
        "previous_contact_id": text(record, "PreviousContactId", loc("PreviousContactId")),
        "next_contact_id": text(record, "NextContactId", loc("NextContactId")),
        "disconnect_reason": text(record, "DisconnectReason", loc("DisconnectReason")),
        "agent": text(agent, "Username", loc("Agent.Username")),
        "talk_s": seconds(agent, "AgentInteractionDuration", loc("Agent.AgentInteractionDuration")),
        "hold_s": seconds(agent, "CustomerHoldDuration", loc("Agent.CustomerHoldDuration")),
        "holds": seconds(agent, "NumberOfHolds", loc("Agent.NumberOfHolds")),
        "after_contact_work_s": seconds(
            agent, "AfterContactWorkDuration", loc("Agent.AfterContactWorkDuration")
        ),
        "queue": text(queue, "Name", loc("Queue.Name")),
        "queue_s": seconds(queue, "Duration", loc("Queue.Duration")),
        "system_endpoint": text(
            obj(record, "SystemEndpoint", loc("SystemEndpoint")),
            "Address",
            loc("SystemEndpoint.Address"),
        ),
    }
    attrs.update({k: v for k, v in optional.items() if v is not None})
    recording = obj(record, "Recording", loc("Recording"))
    if text(recording, "Location", loc("Recording.Location")):
        attrs["recording"] = {
            k: recording[k]
            for k in ("Location", "Status", "Type")
            if isinstance(recording.get(k), str)
        }
    custom = {
        str(k)[:60]: v if not isinstance(v, str) else v[:500]
        for k, v in list(obj(record, "Attributes", loc("Attributes")).items())[
            :MAX_CUSTOM_ATTRIBUTES
        ]
        if _plain(v) and not identifier_type_of(k)
    }
    if custom:
        attrs["contact_attributes"] = custom
    traits = names_in(obj(record, "Attributes", loc("Attributes")))
    if traits:
        attrs["traits"] = traits
    return attrs


def _summary(kind: str, attrs: Mapping[str, Any]) -> str:
    what = {"chat_ended": "Chat", "task_completed": "Task"}.get(kind, "Call")
    if kind.startswith("email"):
        what = "Email contact"
    if kind == "call_abandoned":
        what = "Abandoned call"
    elif kind == "call_missed":
        what = "Missed call"
    detail = attrs["direction"]
    if "duration_s" in attrs:
        detail += f", {duration_text(attrs['duration_s'])}"
    line = f"{what} ({detail})"
    parts = []
    if "agent" in attrs:
        parts.append(f"with agent {attrs['agent']}")
    if "queue" in attrs:
        parts.append(f"queue {attrs['queue']}" if parts else f"in queue {attrs['queue']}")
    return f"{line} {', '.join(parts)}" if parts else line


def map_firehose(
    records: list[FirehoseRecord], received_at: datetime, default_region: str = "US"
) -> tuple[list[CanonicalEvent], list[tuple[bytes, str]]]:
    """A Firehose delivery record by record: the events of the good ones (newest revision
    per contact) and, for each bad one, its original bytes and why it was refused."""
    newest: dict[str, tuple[datetime, CanonicalEvent]] = {}
    refused: list[tuple[bytes, str]] = []
    for record in records:
        where = f"records[{record.index}]"
        if record.error is not None:
            refused.append((record.data, f"{where}.{record.error}"))
            continue
        try:
            mapped = [
                map_record(value, received_at, default_region, path=where)
                for value in records_of(record.data, f"{where}.data")
            ]
            for event, _ in mapped:
                encode_within_limits(event)
        except InvalidEvent as exc:
            refused.append((record.data, str(exc)))
            continue
        for event, updated in mapped:
            kept = newest.get(event.event_id)
            if kept is None or updated >= kept[0]:
                newest[event.event_id] = (updated, event)
    return [event for _, event in newest.values()], refused
