"""The dead-letter record: what could not be processed, by which component, why, with the
original bytes.

Typed in the manner of Snowplow's bad rows: the failing `Component` is an enum, and the reason
is a `Failure` of a known `FailureType` with a message that names fields and conditions, never
a value from the input (the input is PII; it travels only as the original bytes, which admins
read and erasure deletes).
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from schemas.errors import InvalidEvent

MAX_MESSAGE_LENGTH = 2000


class Component(StrEnum):
    """The part of the pipeline that gave up on a record."""

    #: The worker could not decode the record into a canonical event.
    WORKER_DECODE = "worker.decode"
    #: The worker could not store the event.
    WORKER_WRITE = "worker.write"
    #: The gateway refused one record of an Amazon Connect Firehose delivery (the others
    #: were accepted), keeping its original bytes.
    INGEST_AMAZON_CONNECT = "ingest.amazon-connect"


class FailureType(StrEnum):
    """What kind of failure it was."""

    #: Not a canonical event: not JSON, not an object, a field missing or invalid.
    INVALID_EVENT = "invalid_event"
    #: The database refused the event's data (a constraint, an encoding, a value out of range).
    DATABASE_REFUSED = "database_refused"
    #: Decoding or writing raised something unexpected: a bug, named by its exception type.
    UNEXPECTED = "unexpected"
    #: Stored before failures were typed (migration 0007); read back only, never written.
    UNCLASSIFIED = "unclassified"


class Failure(BaseModel):
    """Why a record was dead-lettered: a type and a message free of input values."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: FailureType
    message: str = Field(
        max_length=MAX_MESSAGE_LENGTH,
        description="Names the field or condition, never a value from the input.",
    )

    @field_validator("message", mode="before")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        # PostgreSQL text cannot hold NUL; a message must still store.
        if isinstance(value, str):
            return value.replace("\x00", "\\x00")[:MAX_MESSAGE_LENGTH]
        return value

    @classmethod
    def invalid_event(cls, exc: InvalidEvent) -> Failure:
        """From the decoder's refusal (its messages name fields, never their values)."""
        return cls(type=FailureType.INVALID_EVENT, message=str(exc))

    @classmethod
    def unexpected(cls, exc: BaseException) -> Failure:
        """From an exception nobody expected: its type only (its text may quote the input)."""
        return cls(type=FailureType.UNEXPECTED, message=f"unexpected {type(exc).__name__}")


class DeadLetter(BaseModel):
    """A typed dead-letter record, published to `threadline.deadletter` and stored durably."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    component: Component = Field(description="What failed, e.g. 'worker.decode'.")
    failure: Failure = Field(description="Why, without PII.")
    original: bytes = Field(description="The original record value, byte for byte.")
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    key: bytes | None = None
    event_id: str | None = Field(default=None, description="When the bytes decoded far enough.")
    first_seen: AwareDatetime
    last_seen: AwareDatetime
    attempts: int = 1

    @classmethod
    def of(
        cls, component: Component, failure: Failure, original: bytes, at: datetime, **where: Any
    ) -> DeadLetter:
        """A first-time dead letter at `at`; `where` holds topic/partition/offset/key/event_id."""
        return cls(
            component=component,
            failure=failure,
            original=original,
            first_seen=at,
            last_seen=at,
            **where,
        )

    @classmethod
    def from_json(cls, raw: bytes) -> DeadLetter:
        """Decode the wire form (`to_json`); ValueError if it is not a dead-letter record."""
        try:
            data = orjson.loads(raw)
            if not isinstance(data, dict):
                raise ValueError("a dead-letter record is a JSON object")
            data["original"] = base64.b64decode(data.get("original") or "", validate=True)
            key = data.get("key")
            data["key"] = base64.b64decode(key, validate=True) if key is not None else None
            return cls.model_validate(data)
        except (orjson.JSONDecodeError, binascii.Error, TypeError, ValidationError) as exc:
            raise ValueError(f"not a dead-letter record: {type(exc).__name__}") from None

    def to_json(self) -> bytes:
        """Wire form: the bytes base64-encoded so any consumer can read them."""
        data = self.model_dump(mode="python")
        data["original"] = base64.b64encode(self.original).decode()
        data["key"] = base64.b64encode(self.key).decode() if self.key is not None else None
        return orjson.dumps(data)
