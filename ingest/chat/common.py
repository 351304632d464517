"""Pure helpers of the JSON chat and survey mappings: customer ids, times, item lists."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Final, TypeVar

import orjson
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from ingest.common import parse_ident
from schemas import Identifier, InvalidEvent
from schemas.errors import EventTooLarge
from schemas.identifiers import ANONYMOUS_ID, EMAIL, LOYALTY_ID, PHONE, USER_ID
from schemas.timestamps import iso_to_utc

CONVERSATION_ID: Final = "conversation_id"
#: Natural keys and references: printable, no control characters.
Key = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$"
    ),
]
Label = Annotated[str, Field(max_length=256)]

T = TypeVar("T", bound=BaseModel)


class TooLarge(EventTooLarge):
    """An item or request is over its size or count limit (answered 413)."""


def _utc(value: Any) -> Any:
    """ISO-8601 text to an aware UTC datetime (naive is taken as UTC); other input unchanged."""
    if isinstance(value, datetime):
        return value
    return iso_to_utc(value)


#: A timestamp field: ISO-8601 text (offset optional, UTC assumed), normalised to UTC.
UtcTime = Annotated[datetime, BeforeValidator(_utc)]


class PersonIds(BaseModel):
    """Identifiers of a customer as a widget or survey tool knows them (all optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    email: Label | None = None
    phone: Label | None = None
    user_id: Label | None = None
    anonymous_id: Label | None = None
    loyalty_id: Label | None = None


_PERSON_TYPES: Final = (
    ("email", EMAIL),
    ("phone", PHONE),
    ("user_id", USER_ID),
    ("anonymous_id", ANONYMOUS_ID),
    ("loyalty_id", LOYALTY_ID),
)


def person_identifiers(person: PersonIds | None, region: str, where: str) -> list[Identifier]:
    """The normalised identifiers of `person`, each error naming `where.<field>`."""
    if person is None:
        return []
    found = (parse_ident(t, getattr(person, f), region, f"{where}.{f}") for f, t in _PERSON_TYPES)
    return [i for i in found if i is not None]


def validate_item(model: type[T], item: Any, where: str, max_bytes: int) -> T:
    """Check `item`'s encoded size, then validate it as `model`, errors prefixed by `where`."""
    if not isinstance(item, Mapping):
        raise InvalidEvent(f"{where}: must be a JSON object")
    try:
        size = len(orjson.dumps(item))
    except (orjson.JSONEncodeError, TypeError):
        raise InvalidEvent(f"{where}: is not representable as JSON") from None
    if size > max_bytes:
        raise TooLarge(f"{where}: {size} bytes is over the {max_bytes // 1024} KB limit")
    try:
        return model.model_validate(item)
    except ValidationError as exc:
        raise InvalidEvent(prefixed_errors(exc, where)) from None


def prefixed_errors(exc: ValidationError, where: str, limit: int = 3) -> str:
    """A pydantic error described field by field (no input values), paths under `where`."""
    parts = []
    for err in exc.errors(include_input=False, include_url=False)[:limit]:
        path = ".".join([where, *(str(p) for p in err["loc"])])
        parts.append(f"{path}: {err['msg']}")
    if exc.error_count() > limit:
        parts.append(f"and {exc.error_count() - limit} more")
    return "; ".join(parts)


def items_of(body: Any, list_key: str, limit: int) -> list[tuple[str, Any]]:
    """A single object, or `{list_key: [...]}` of up to `limit` objects, as (path, item) pairs."""
    if not isinstance(body, Mapping):
        raise InvalidEvent(f"body: must be a JSON object (one item, or {{{list_key!r}: [...]}})")
    if list_key not in body:
        return [("body", body)]
    items = body[list_key]
    if len(body) != 1:
        extra = sorted(str(k) for k in body if k != list_key)[0]
        raise InvalidEvent(f"{extra}: unexpected next to {list_key!r}")
    if not isinstance(items, list) or not items:
        raise InvalidEvent(f"{list_key}: must be a non-empty list")
    if len(items) > limit:
        raise TooLarge(f"{list_key}: {len(items)} items is over the {limit} limit")
    return [(f"{list_key}[{i}]", item) for i, item in enumerate(items)]
