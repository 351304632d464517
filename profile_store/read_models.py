"""Read-side output models (frozen DTOs): what the API returns, never ORM rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


#: Timestamps are served in UTC whatever the database session's time zone.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_utc)]

_EXAMPLE_AT = "2026-11-20T14:05:00Z"
_SUMMARY_EXAMPLE: dict[str, Any] = {
    "last_contact": {
        "event_id": "smtp:<CAF=w5001@mail.example.net>",
        "channel": "email",
        "kind": "email_received",
        "occurred_at": _EXAMPLE_AT,
        "summary": "Email: Collection time for order W-5001",
    },
    "recent": {"days": 7, "total": 5, "by_channel": {"email": 1, "web": 4}, "capped": False},
    "open_threads": [
        {
            "channel": "email",
            "thread_id": "<CAF=w5001@mail.example.net>",
            "waiting_since": _EXAMPLE_AT,
            "last_at": _EXAMPLE_AT,
            "summary": "Email: Collection time for order W-5001",
            "event_id": "smtp:<CAF=w5001@mail.example.net>",
        }
    ],
    "latest_order": None,
    "latest_score": {"metric": "nps", "score": 9, "scale_max": 10, "at": _EXAMPLE_AT},
}


class IdentifierOut(BaseModel):
    """One normalised identifier held by a customer."""

    model_config = ConfigDict(frozen=True)

    type: str = Field(examples=["phone"])
    value: str = Field(examples=["+14155550100"])
    first_seen: UtcDatetime | None = Field(default=None, description="When it was first seen.")


class ChannelStats(BaseModel):
    """How many interactions a customer had on one channel, and the latest one's time."""

    model_config = ConfigDict(frozen=True)

    count: int = Field(ge=0)
    last_at: UtcDatetime | None = None


class ContactOut(BaseModel):
    """One interaction as the summary names it."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    channel: str
    kind: str
    occurred_at: UtcDatetime
    summary: str


class RecentContacts(BaseModel):
    """Interactions in the last days, per channel (counting stops at `cap`)."""

    model_config = ConfigDict(frozen=True)

    days: int
    total: int
    by_channel: dict[str, int] = Field(default_factory=dict)
    capped: bool = Field(default=False, description="True if there were more than counted.")


class OpenThread(BaseModel):
    """An email thread or chat whose latest message is the customer's, with no reply."""

    model_config = ConfigDict(frozen=True)

    channel: str
    thread_id: str
    waiting_since: UtcDatetime = Field(description="The first unanswered customer message.")
    last_at: UtcDatetime
    summary: str
    event_id: str = Field(description="The latest unanswered message.")


class LatestOrder(ContactOut):
    """The latest order event, with its number and total when known."""

    order: str | None = None
    total: str | None = Field(default=None, description='As the source wrote it, e.g. "59.90".')
    currency: str | None = None


class LatestScore(BaseModel):
    """The most recent survey score of any metric."""

    model_config = ConfigDict(frozen=True)

    metric: str
    score: int | float
    scale_max: int | float | None = None
    at: str


class ProfileSummary(BaseModel):
    """What an agent reads in five seconds."""

    model_config = ConfigDict(frozen=True)

    last_contact: ContactOut | None = None
    recent: RecentContacts
    open_threads: list[OpenThread] = Field(default_factory=list)
    latest_order: LatestOrder | None = None
    latest_score: LatestScore | None = None


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
                    "summary": _SUMMARY_EXAMPLE,
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


class MergeOut(BaseModel):
    """A customer absorbed into this profile, with the event, rule and identifiers that did it."""

    model_config = ConfigDict(frozen=True)

    merged_id: str
    survivor_id: str
    rule: str = Field(description="seen_together or reference_claimed")
    event_id: str
    identifiers: list[IdentifierRef] = Field(default_factory=list)
    merged_at: UtcDatetime


class Lineage(BaseModel):
    """The explanation of a profile: every identifier link and every merge into it."""

    model_config = ConfigDict(frozen=True)

    customer_id: str = Field(description="The canonical (surviving) customer id.")
    links: list[LinkOut] = Field(default_factory=list)
    merges: list[MergeOut] = Field(default_factory=list)
