"""Read-side output models (frozen DTOs): what the API returns, never ORM rows."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from profile_store.read.summary_models import SUMMARY_EXAMPLE, ProfileSummary
from profile_store.read.types import UtcDatetime as UtcDatetime
from schemas.trust import Trust

_EXAMPLE_AT = "2026-11-20T14:05:00Z"


class IdentifierOut(BaseModel):
    """One normalised identifier held by a customer."""

    model_config = ConfigDict(frozen=True)

    type: str = Field(examples=["phone"])
    value: str = Field(examples=["+14155550100"])
    display: str | None = Field(
        default=None,
        examples=["(415) 555-0100"],
        description="As an agent reads it: phones in national format (the API's default "
        "region), else international.",
    )
    first_seen: UtcDatetime | None = Field(default=None, description="When it was first seen.")


class ClaimOut(BaseModel):
    """An identifier a browser event named without verification: never linked, never found
    by lookup; shown so an agent knows what this device claimed to be."""

    model_config = ConfigDict(frozen=True)

    type: str = Field(examples=["email"])
    value: str = Field(examples=["ana@example.net"])
    event_id: str = Field(description="The latest event that made the claim.")
    at: UtcDatetime = Field(description="When that event happened.")


class ChannelStats(BaseModel):
    """How many interactions a customer had on one channel, and the latest one's time."""

    model_config = ConfigDict(frozen=True)

    count: int = Field(ge=0)
    last_at: UtcDatetime | None = None


class Profile(BaseModel):
    """The unified view of one canonical customer."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "customer_id": "cus_4f0c2a",
                    "identifiers": [
                        {"type": "email", "value": "ana@example.net", "first_seen": _EXAMPLE_AT},
                        {"type": "phone", "value": "+14155550100", "first_seen": _EXAMPLE_AT},
                    ],
                    "merged_ids": ["cus_9b17e3"],
                    "traits": {"name": "Ana Lima", "plan": "gold"},
                    "first_seen": "2026-11-01T09:00:00Z",
                    "last_seen": _EXAMPLE_AT,
                    "channels": {
                        "email": {"count": 3, "last_at": _EXAMPLE_AT},
                        "web": {"count": 41, "last_at": "2026-11-19T20:11:00Z"},
                    },
                    "cx": {},
                    "summary": SUMMARY_EXAMPLE,
                }
            ]
        },
    )

    customer_id: str = Field(description="The canonical (surviving) customer id.")
    identifiers: list[IdentifierOut] = Field(default_factory=list)
    merged_ids: list[str] = Field(
        default_factory=list, description="Customer ids merged into this one; they resolve here."
    )
    traits: dict[str, Any] = Field(default_factory=dict, description="Latest value per trait.")
    first_seen: UtcDatetime | None = None
    last_seen: UtcDatetime | None = None
    channels: dict[str, ChannelStats] = Field(default_factory=dict)
    cx: dict[str, Any] = Field(default_factory=dict, description="Latest NPS / CSAT when known.")
    summary: ProfileSummary | None = Field(
        default=None, description="What's going on: last contact, open threads, latest order."
    )
    unverified_claims: list[ClaimOut] = Field(
        default_factory=list,
        description="Identifiers this customer's browser events claimed without verification "
        "(a public write key, no valid `context.user_hash`), newest first: not linked, not "
        "found by lookup; those the customer holds since are left out.",
    )


class TimelineItem(BaseModel):
    """One interaction on a customer's timeline."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    channel: str
    kind: str
    occurred_at: UtcDatetime
    received_at: UtcDatetime
    source: str
    summary: str
    attributes: dict[str, Any] = Field(default_factory=dict)
    trust: Trust = Field(
        default=Trust.SERVER,
        description="The sender's trust level: server, browser_verified "
        "or browser_unverified (a public browser key, nothing verified).",
    )

    @classmethod
    def from_row(cls, row: Any) -> TimelineItem:
        """From a `timeline_events` row (or any object with its column names)."""
        return cls(
            event_id=row.event_id,
            channel=row.channel,
            kind=row.kind,
            occurred_at=row.occurred_at,
            received_at=row.received_at,
            source=row.source,
            summary=row.summary,
            attributes=row.attributes if isinstance(row.attributes, dict) else {},
            trust=getattr(row, "trust", None) or Trust.SERVER,
        )


class TimelinePage(BaseModel):
    """A page of a timeline, newest first; `next_cursor` is null on the last page."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "event_id": "smtp:<CAF=w5001@mail.example.net>",
                            "channel": "email",
                            "kind": "email_received",
                            "occurred_at": _EXAMPLE_AT,
                            "received_at": "2026-11-20T14:05:02Z",
                            "source": "smtp",
                            "summary": "Email: Collection time for order W-5001",
                            "attributes": {"subject": "Collection time for order W-5001"},
                        }
                    ],
                    "next_cursor": "WyIyMDI2LTExLTIwVDE0OjA1OjAwKzAwOjAwIiwxMjNd",
                }
            ]
        },
    )

    items: list[TimelineItem]
    next_cursor: str | None = Field(
        default=None, description="Opaque; pass it back as `cursor` for the next page."
    )


class IdentifierRef(BaseModel):
    """An identifier as a merge record names it."""

    model_config = ConfigDict(frozen=True)

    type: str
    value: str


class LinkOut(BaseModel):
    """Why the profile holds one identifier: the rule and the event that attached it."""

    model_config = ConfigDict(frozen=True)

    type: str
    value: str
    rule: str = Field(description="seen_together, reference, ...")
    event_id: str = Field(description="The event that first showed this identifier.")
    first_seen: UtcDatetime
    trust: Trust = Field(
        default=Trust.SERVER,
        description="The trust level of that event's source: server, browser_verified (a "
        "browser event whose `context.user_hash` verified it) or browser_unverified (a "
        "browser event vouching for its own device only).",
    )


class MergeOut(BaseModel):
    """A customer absorbed into this profile, with the event, rule and identifiers that did it."""

    model_config = ConfigDict(frozen=True)

    merged_id: str
    merged_name: str | None = Field(
        default=None, description="The merged customer's name when it had one."
    )
    survivor_id: str
    rule: str = Field(description="seen_together or reference_claimed")
    event_id: str
    identifiers: list[IdentifierRef] = Field(default_factory=list)
    merged_at: UtcDatetime


class ConflictOut(BaseModel):
    """An identifier an event of this profile carried that was not linked to it, and why."""

    model_config = ConfigDict(frozen=True)

    type: str
    value: str
    event_id: str
    reason: str = Field(
        description="limit:<type>, weak:<type>, separated, or unverified:browser (a claim a "
        "browser event made without verification: never linked)."
    )


class LineageEvent(BaseModel):
    """An event a link, merge or conflict names, as the timeline shows it."""

    model_config = ConfigDict(frozen=True)

    channel: str
    kind: str
    source: str
    summary: str
    occurred_at: UtcDatetime


class Lineage(BaseModel):
    """The explanation of a profile: every identifier link and every merge into it."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "customer_id": "cus_4f0c2a",
                    "links": [
                        {
                            "type": "phone",
                            "value": "+14155550100",
                            "rule": "seen_together",
                            "event_id": "segment:7f1c",
                            "first_seen": _EXAMPLE_AT,
                        }
                    ],
                    "merges": [
                        {
                            "merged_id": "cus_9b17e3",
                            "survivor_id": "cus_4f0c2a",
                            "rule": "seen_together",
                            "event_id": "segment:7f1c",
                            "identifiers": [{"type": "anonymous_id", "value": "d-1"}],
                            "merged_at": _EXAMPLE_AT,
                        }
                    ],
                }
            ]
        },
    )

    customer_id: str = Field(description="The canonical (surviving) customer id.")
    links: list[LinkOut] = Field(default_factory=list)
    merges: list[MergeOut] = Field(default_factory=list)
    conflicts: list[ConflictOut] = Field(
        default_factory=list,
        description="Identifiers refused by a limit or a separation, and claims of browser "
        "events that did not link for want of verification.",
    )
    events: dict[str, LineageEvent] = Field(
        default_factory=dict,
        description="The events named above that are on this profile's timeline, by event id.",
    )
