"""Field types shared by the read-side DTOs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


#: Timestamps are served in UTC whatever the database session's time zone.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_utc)]
