"""The dead-letter record: what could not be processed, by whom, why, with the original bytes."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

MAX_ERROR_LENGTH = 2000


class DeadLetter(BaseModel):
    """A typed dead-letter record, published to `threadline.deadletter` and stored durably."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    component: str = Field(description="What failed, e.g. 'worker.decode', 'worker.write'.")
    error: str = Field(max_length=MAX_ERROR_LENGTH, description="Why, without PII.")
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
        cls, component: str, error: str, original: bytes, at: datetime, **where: Any
    ) -> DeadLetter:
        """A first-time dead letter at `at`; `where` holds topic/partition/offset/key/event_id."""
        return cls(
            component=component,
            # PostgreSQL text cannot hold NUL; an error quoting the bad input must still store.
            error=error.replace("\x00", "\\x00")[:MAX_ERROR_LENGTH],
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
