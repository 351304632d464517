"""The canonical interaction event (version 1) and its Kafka wire form."""

from __future__ import annotations

import hashlib
import math
import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Final, Literal

import orjson
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticSerializationError

from schemas.errors import EventTooLarge, InvalidEvent
from schemas.identifiers import Identifier, primary_identifier
from schemas.timestamps import implausible
from schemas.trust import Trust, trust_problem

SCHEMA_VERSION: Final = 1
#: Largest encoded event a consumer accepts; adapters enforce tighter per-channel limits.
MAX_EVENT_BYTES: Final = 256 * 1024
#: Longest `summary`: the one line an agent reads in a timeline.
MAX_SUMMARY_CHARS: Final = 500
#: Validation context key: the data came from `orjson.loads` of text without a \u0000 escape,
#: so it holds no NaN, infinity or NUL character.
PARSED_JSON: Final = "parsed_json"
_SAFE_KEY: Final = re.compile(r"^[A-Za-z0-9._:@+=-]{1,160}$")
_NUL: Final = "holds a NUL character (\\u0000), which cannot be stored"

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,62}$")]
SourceName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")]
EventId = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")]


class Channel(StrEnum):
    """Where an interaction happened."""

    WEB = "web"
    CHAT = "chat"
    EMAIL = "email"
    CALL_CENTRE = "call_centre"
    STORE = "store"
    SURVEY = "survey"


class CanonicalEvent(BaseModel):
    """One customer interaction, normalised, as carried on `threadline.interactions`."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={"$id": "https://threadline.dev/schemas/canonical-event-v1.json"},
    )

    event_id: EventId = Field(description="Globally unique, deterministic from the source record.")
    channel: Channel
    kind: Name = Field(description="What happened, e.g. page_viewed, email_received.")
    occurred_at: AwareDatetime = Field(description="When it happened at the source (UTC).")
    received_at: AwareDatetime = Field(description="When the adapter accepted it (UTC).")
    source: SourceName = Field(description="The emitting system, e.g. segment, smtp, shopify.")
    identifiers: tuple[Identifier, ...] = Field(min_length=1, max_length=64)
    summary: str = Field(max_length=MAX_SUMMARY_CHARS, description="One line an agent can read.")
    attributes: dict[str, Any] = Field(default_factory=dict, description="Channel detail.")
    schema_version: Literal[1] = SCHEMA_VERSION
    trust: Trust = Field(
        default=Trust.SERVER,
        description="The source's trust level: `server` (absent in older events), or "
        "`browser_verified` / `browser_unverified` for a public browser write key.",
    )
    claims: tuple[Identifier, ...] = Field(
        default=(),
        max_length=64,
        description="Identifiers a browser source named without verification: kept and "
        "shown as unverified, never linked, never found by lookup.",
    )

    @field_validator("occurred_at", "received_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @field_validator("summary")
    @classmethod
    def _no_nul_in_summary(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError(_NUL)
        return value

    @field_validator("attributes")
    @classmethod
    def _storable_json_only(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        # JSON has no NaN or infinity: orjson would write null, and the event would not
        # survive the wire unchanged; PostgreSQL text and jsonb cannot hold NUL characters.
        # JSON that orjson parsed holds neither when its text has no \u0000 escape.
        if info.context is not None and info.context.get(PARSED_JSON):
            return value
        stack: list[Any] = [value]
        while stack:
            container = stack.pop()
            if isinstance(container, dict):
                if any("\x00" in key for key in container):
                    raise ValueError(_NUL)
                items = container.values()
            else:
                items = container
            for item in items:
                if isinstance(item, float):
                    if not math.isfinite(item):
                        raise ValueError(
                            "attributes hold a number JSON cannot carry (NaN or infinity)"
                        )
                elif isinstance(item, str):
                    if "\x00" in item:
                        raise ValueError(_NUL)
                elif isinstance(item, dict | list | tuple):
                    stack.append(item)
        return value

    @model_validator(mode="after")
    def _believable(self) -> CanonicalEvent:
        problem = implausible(self.occurred_at, self.received_at)
        if problem is not None:
            raise ValueError(f"occurred_at {problem}")
        problem = trust_problem(self.trust, self.identifiers, self.claims)
        if problem is not None:
            raise ValueError(problem)
        return self

    @property
    def primary_identifier(self) -> Identifier:
        """The identifier that keys this event's Kafka record."""
        return primary_identifier(self.identifiers)

    def to_json(self) -> bytes:
        """Encode for Kafka (compact JSON, UTC timestamps), straight from pydantic's serialiser."""
        return self.model_dump_json().encode()

    def kafka_key(self) -> bytes:
        """Record key: the primary identifier, so one person's events share a partition."""
        ident = self.primary_identifier
        return f"{ident.type}:{ident.value}".encode()

    def cloudevents_headers(self) -> list[tuple[str, bytes]]:
        """CloudEvents 1.0 binary-mode headers for generic Kafka tooling."""
        return [
            ("ce_specversion", b"1.0"),
            ("ce_id", self.event_id.encode()),
            ("ce_source", f"/threadline/{self.source}".encode()),
            ("ce_type", f"dev.threadline.{self.channel.value}.{self.kind}".encode()),
            ("ce_time", self.occurred_at.isoformat().encode()),
            ("content-type", b"application/json"),
        ]


def encode_within_limits(event: CanonicalEvent) -> bytes:
    """The event's wire form, or `InvalidEvent` / `EventTooLarge` if a consumer would refuse it.

    Adapters call this before they answer: an event the worker could never decode is
    refused at the door instead of acknowledged and then dead-lettered.
    """
    try:
        raw = event.to_json()
    except PydanticSerializationError:
        raise InvalidEvent(
            f"event {event.event_id}: holds text that is not valid Unicode (a lone surrogate)"
        ) from None
    if len(raw) > MAX_EVENT_BYTES:
        raise EventTooLarge(
            f"event {event.event_id}: {len(raw)} bytes is over the {MAX_EVENT_BYTES // 1024} KB "
            "limit of one event"
        )
    return raw


def decode_event(raw: bytes) -> CanonicalEvent:
    """Decode one Kafka record value, or raise `InvalidEvent` naming the problem."""
    if len(raw) > MAX_EVENT_BYTES:
        raise InvalidEvent(f"event is {len(raw)} bytes, over the {MAX_EVENT_BYTES} byte limit")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidEvent(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidEvent("event must be a JSON object")
    try:
        # Parsed JSON cannot hold NaN or infinity; it holds NUL only as a \u0000 escape.
        context = {PARSED_JSON: True} if b"\\u0000" not in raw else None
        return CanonicalEvent.model_validate(data, context=context)
    except ValidationError as exc:
        raise InvalidEvent(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError, limit: int = 3) -> str:
    """A short, field-naming description of a pydantic error (no input values: they may be PII)."""
    parts = []
    for err in exc.errors(include_input=False, include_url=False)[:limit]:
        message = err["msg"].removeprefix("Value error, ")
        where = ".".join(str(p) for p in err["loc"])
        parts.append(f"{where}: {message}" if where else message)
    more = exc.error_count() - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def make_event_id(source: str, natural_key: str) -> str:
    """A deterministic event id from the source system's own record key.

    Safe short keys are kept readable (`segment:ajs-123`); anything else is hashed.
    """
    if _SAFE_KEY.match(natural_key):
        return f"{source}:{natural_key}"
    digest = hashlib.sha256(natural_key.encode()).hexdigest()[:40]
    return f"{source}:sha256:{digest}"


#: Attributes key for source records that are updated in place (an Amazon Connect contact,
#: a Shopify order): the timeline keeps one item per `event_id`, the highest revision.
REVISION_KEY: Final = "revision"


def revision_stamp(at: datetime) -> str:
    """A revision from a source timestamp: fixed-width UTC text, so it sorts as it compares."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)
