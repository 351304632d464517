"""DTOs of the profile summary: what an agent reads in five seconds."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from profile_store.read.types import UtcDatetime

_EXAMPLE_AT = "2026-11-20T14:05:00Z"
SUMMARY_EXAMPLE: dict[str, Any] = {
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

    last_contact: ContactOut | None = Field(
        default=None, description="The latest assisted contact (any channel but web)."
    )
    recent: RecentContacts
    open_threads: list[OpenThread] = Field(default_factory=list)
    latest_order: LatestOrder | None = None
    latest_score: LatestScore | None = None
