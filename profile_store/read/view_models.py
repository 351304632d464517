"""Read-side DTOs for the agent view: search hits, the profile summary, audit entries."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from profile_store.read.models import IdentifierRef
from profile_store.read.types import UtcDatetime

_AT = "2026-11-20T14:05:00Z"
#: Events listed per web visit (newest first); `events` counts them all.
VISIT_EVENTS_LISTED = 50


class SearchMatch(BaseModel):
    """What matched the query: an identifier type, or `name`, and how."""

    model_config = ConfigDict(frozen=True)

    field: str = Field(description="The identifier type that matched, `customer_id`, or `name`.")
    how: str = Field(
        description="`exact`, `exact_case_insensitive`, `local_number` (a phone number typed "
        "without its area code) or `prefix`."
    )
    value: str | None = Field(default=None, description="The matching identifier, as stored.")
    display: str | None = Field(
        default=None, description="The matching identifier as an agent reads it."
    )


class ShownIdentifier(IdentifierRef):
    """An identifier with the form an agent reads (a phone in national format)."""

    display: str | None = Field(default=None, examples=["(415) 555-0100"])


class SearchHit(BaseModel):
    """One candidate customer (always the canonical survivor)."""

    model_config = ConfigDict(frozen=True)

    customer_id: str
    name: str | None = Field(default=None, description="From the name traits, when known.")
    identifiers: list[ShownIdentifier] = Field(
        default_factory=list, description="A few of the customer's identifiers, for display."
    )
    last_seen: UtcDatetime | None = None
    match: SearchMatch


class SearchResults(BaseModel):
    """Candidates, best first: exact identifier matches, then names, then email prefixes."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "customer_id": "cus_4f0c2a",
                            "name": "Ana Lima",
                            "identifiers": [
                                {
                                    "type": "email",
                                    "value": "ana@example.net",
                                    "display": "ana@example.net",
                                },
                                {
                                    "type": "phone",
                                    "value": "+14155550100",
                                    "display": "(415) 555-0100",
                                },
                            ],
                            "last_seen": _AT,
                            "match": {
                                "field": "phone",
                                "how": "exact",
                                "value": "+14155550100",
                                "display": "(415) 555-0100",
                            },
                        }
                    ]
                }
            ]
        },
    )

    items: list[SearchHit]


class AuditEntryOut(BaseModel):
    """One audited action: who, when, what, which customer (never identifier values)."""

    model_config = ConfigDict(frozen=True)

    id: int
    at: UtcDatetime
    actor: str
    role: str
    action: str
    customer_id: str | None
    detail: dict[str, Any]


class AuditPage(BaseModel):
    """Audit entries newest first; pass `next_before` as `before` for older ones."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "id": 42,
                            "at": _AT,
                            "actor": "desk-7",
                            "role": "agent",
                            "action": "lookup",
                            "customer_id": "cus_4f0c2a",
                            "detail": {"type": "phone", "found": True},
                        }
                    ],
                    "next_before": None,
                }
            ]
        },
    )

    items: list[AuditEntryOut]
    next_before: int | None = None


class VisitEvent(BaseModel):
    """One event of a visit."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    kind: str
    occurred_at: UtcDatetime
    summary: str


class Visit(BaseModel):
    """Web events with gaps of at most 30 minutes: one visit."""

    model_config = ConfigDict(frozen=True)

    started_at: UtcDatetime
    ended_at: UtcDatetime
    events: int = Field(ge=1, description="How many web events the visit holds.")
    listed: list[VisitEvent] = Field(
        description=f"Its newest {VISIT_EVENTS_LISTED} events, newest first."
    )
    partial: bool = Field(default=False, description="Cut at the read limit: it began earlier.")


class VisitsPage(BaseModel):
    """Visits newest first; pass `next_until` as `until` for older ones."""

    model_config = ConfigDict(frozen=True)

    items: list[Visit]
    next_until: UtcDatetime | None = None
