"""Pure helpers every channel mapping shares: summaries, fields, identifiers, names, events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, TypeVar

from pydantic import ValidationError

from schemas import CanonicalEvent, Channel, Identifier, InvalidEvent, InvalidIdentifier
from schemas.events import (
    MAX_SUMMARY_CHARS,
    REVISION_KEY,
    describe_validation_error,
    make_event_id,
    revision_stamp,
)
from schemas.identifiers import EMAIL, LOYALTY_ID, ORDER_ID, PHONE, USER_ID
from schemas.timestamps import CLOCK_CORRECTED, CLOCK_TOLERANCE, corrected

#: The summary limit of the canonical event: every mapping clips to it.
MAX_SUMMARY: Final = MAX_SUMMARY_CHARS
#: Longest name trait kept (display names, profile names, first and last names).
MAX_NAME_CHARS: Final = 200

#: Free-form keys (contact-flow attributes, hidden fields, person properties) that carry a
#: customer identifier, matched case-insensitively with `_`, `-` and spaces ignored.
IDENTIFIER_KEYS: Final = {
    "email": EMAIL,
    "emailaddress": EMAIL,
    "customeremail": EMAIL,
    "phone": PHONE,
    "phonenumber": PHONE,
    "customerphone": PHONE,
    "callbacknumber": PHONE,
    "userid": USER_ID,
    "customerid": USER_ID,
    "accountid": USER_ID,
    "crmid": USER_ID,
    "loyaltyid": LOYALTY_ID,
    "loyaltynumber": LOYALTY_ID,
    "orderid": ORDER_ID,
    "ordernumber": ORDER_ID,
}
#: Free-form keys that carry the customer's name: `name`, `first_name`, `last_name`.
NAME_KEYS: Final = {
    "name": "name",
    "fullname": "name",
    "customername": "name",
    "firstname": "first_name",
    "givenname": "first_name",
    "lastname": "last_name",
    "surname": "last_name",
    "familyname": "last_name",
}

T = TypeVar("T")


def _folded(key: Any) -> str:
    return "".join(ch for ch in str(key).lower() if ch not in "_- ")


def identifier_type_of(key: Any) -> str | None:
    """The identifier type a free-form key such as `Customer_ID` or `email` names, if any."""
    return IDENTIFIER_KEYS.get(_folded(key))


def names_in(fields: Mapping[str, Any]) -> dict[str, str]:
    """The name traits held in free-form fields (`first_name`, `Customer Name`...)."""
    found: dict[str, Any] = {}
    for key, value in fields.items():
        part = NAME_KEYS.get(_folded(key))
        if part is not None and part not in found:
            found[part] = value
    return name_traits(found.get("name"), found.get("first_name"), found.get("last_name"))


def clip(text: str, limit: int = MAX_SUMMARY) -> str:
    """One line of at most `limit` characters (whitespace collapsed, `…` when cut)."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def excerpt(text: str | None, limit: int) -> str | None:
    """At most `limit` characters of `text` (line breaks kept), None when blank."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def obj(data: Mapping[str, Any], name: str, where: str) -> Mapping[str, Any]:
    """`data[name]` as an object (absent or null gives `{}`), else `InvalidEvent`."""
    value = data.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidEvent(f"{where}: must be an object")
    return value


def text(data: Mapping[str, Any], name: str, where: str, *, required: bool = False) -> str | None:
    """`data[name]` as a non-blank string, None when absent; `InvalidEvent` when mistyped."""
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidEvent(f"{where}: is required")
        return None
    if not isinstance(value, str):
        raise InvalidEvent(f"{where}: must be a string")
    if len(value) > 1024:
        raise InvalidEvent(f"{where}: is longer than 1024 characters")
    return value.strip()


def try_identifier(type_: str, value: Any, region: str) -> Identifier | None:
    """The identifier, or None when `value` is blank or cannot be one (the caller notes it)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return Identifier.parse(type_, value, region)
    except InvalidIdentifier:
        return None


def parse_ident(type_: str, raw: object, region: str, where: str) -> Identifier | None:
    """Normalise one identifier (None or blank gives None), or raise InvalidEvent naming `where`."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        return Identifier.parse(type_, raw, region)
    except InvalidIdentifier as exc:
        raise InvalidEvent(f"{where}: {exc}") from None


def unique(identifiers: Iterable[Identifier | None]) -> tuple[Identifier, ...]:
    """Identifiers without repeats (None skipped), in first-seen order."""
    seen: dict[tuple[str, str], Identifier] = {}
    for ident in identifiers:
        if ident is not None:
            seen.setdefault((ident.type, ident.value), ident)
    return tuple(seen.values())


def capped(items: Sequence[T], limit: int) -> tuple[list[T], int]:
    """The first `limit` items and how many there were: long lists are trimmed, not refused."""
    return list(items[:limit]), len(items)


def _name_part(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    cleaned = " ".join(value.replace('"', " ").split()).strip(" '")
    if not cleaned or "@" in cleaned or not any(ch.isalpha() for ch in cleaned):
        return None
    return cleaned[:MAX_NAME_CHARS]


def name_traits(full: Any = None, first: Any = None, last: Any = None) -> dict[str, str]:
    """The `name` trait with `first_name` and `last_name` where they can be told apart.

    `full` alone is split as "Last, First" when it holds one comma, else at its last space;
    a single word is a `name` only. Addresses, numbers and blanks are not names.
    """
    given, family, whole = _name_part(first), _name_part(last), _name_part(full)
    if whole is None and (given or family):
        whole = " ".join(p for p in (given, family) if p)
    if whole is None:
        return {}
    if given is None and family is None:
        if whole.count(",") == 1:
            family, given = (p.strip() or None for p in whole.split(","))
            whole = " ".join(p for p in (given, family) if p)
        elif " " in whole:
            given, family = whole.rsplit(" ", 1)
    traits = {"name": whole, "first_name": given, "last_name": family}
    return {k: v for k, v in traits.items() if v}


def source_event(
    where: str,
    source: str,
    natural_key: str,
    channel: Channel,
    kind: str,
    times: tuple[datetime, datetime],
    identifiers: Iterable[Identifier | None],
    summary: str,
    attributes: Mapping[str, Any],
    *,
    id_namespace: str | None = None,
) -> CanonicalEvent:
    """The event of a source record: id from the source's own key (in `id_namespace`,
    default the source), `times` as (occurred, received), identifiers without repeats, the
    summary clipped, empty attributes left out."""
    occurred_at, received_at = times
    return build_event(
        where,
        event_id=make_event_id(id_namespace or source, natural_key),
        channel=channel,
        kind=kind,
        occurred_at=occurred_at,
        received_at=received_at,
        source=source,
        identifiers=unique(identifiers),
        summary=clip(summary),
        attributes={k: v for k, v in attributes.items() if v is not None and v != []},
    )


def build_event(where: str, **fields: Any) -> CanonicalEvent:
    """A `CanonicalEvent`, with a schema violation turned into `InvalidEvent` naming `where`.

    A source time that cannot be true (ahead of the time of receipt, or before 2000) is never
    stored as given: the time of receipt replaces it, the given time is kept in
    `attributes.clock_corrected` (a vendor's or a device's clock nobody can correct; the
    routes of Threadline's own formats refuse such a time instead, with `believed`). A
    revision stamped ahead of receipt is capped likewise, so it never blocks the true
    updates that follow it.
    """
    received_at = fields["received_at"]
    fields["occurred_at"], note = corrected(fields["occurred_at"], received_at)
    if note is not None:
        fields["attributes"] = {**fields.get("attributes", {}), CLOCK_CORRECTED: note}
    revision = fields.get("attributes", {}).get(REVISION_KEY)
    if isinstance(revision, str) and revision > revision_stamp(received_at + CLOCK_TOLERANCE):
        fields["attributes"] = {**fields["attributes"], REVISION_KEY: revision_stamp(received_at)}
    try:
        return CanonicalEvent(**fields)
    except ValidationError as exc:
        raise InvalidEvent(f"{where}: {describe_validation_error(exc)}") from None
