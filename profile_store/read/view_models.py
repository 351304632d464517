"""Read-side DTOs for the agent view: search hits, the profile summary, audit entries."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from profile_store.read.models import IdentifierRef
from profile_store.read.types import UtcDatetime

_AT = "2026-11-20T14:05:00Z"


class SearchMatch(BaseModel):
    """What matched the query: an identifier type, or `name`, and how."""

    model_config = ConfigDict(frozen=True)

    field: str = Field(description="The identifier type that matched, or `name`.")
    how: str = Field(description="`exact`, `exact_case_insensitive` or `prefix`.")


class SearchHit(BaseModel):
    """One candidate customer (always the canonical survivor)."""

    model_config = ConfigDict(frozen=True)

    customer_id: str
    name: str | None = Field(default=None, description="From the name traits, when known.")
    identifiers: list[IdentifierRef] = Field(
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
                                {"type": "email", "value": "ana@example.net"},
                                {"type": "phone", "value": "+14155550100"},
                            ],
                            "last_seen": _AT,
                            "match": {"field": "phone", "how": "exact"},
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
