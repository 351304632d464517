"""Identifier types and their one-time normalisation (emails lower-cased, phones to E.164)."""

from __future__ import annotations

import re
from typing import Final

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from schemas.errors import InvalidIdentifier

EMAIL: Final = "email"
PHONE: Final = "phone"
USER_ID: Final = "user_id"
ANONYMOUS_ID: Final = "anonymous_id"
LOYALTY_ID: Final = "loyalty_id"
ORDER_ID: Final = "order_id"
#: Shopify's numeric order id: refunds and fulfillments name their order by it alone.
SHOPIFY_ORDER_ID: Final = "shopify_order_id"
#: Between an order number and the shop it belongs to (`1001@acme.myshopify.com`).
ORDER_SCOPE_SEPARATOR: Final = "@"

#: Types every component knows by name. Source-scoped ids such as `shopify_customer_id`
#: are accepted too when they match `TYPE_PATTERN`.
KNOWN_TYPES: Final = frozenset({EMAIL, PHONE, USER_ID, ANONYMOUS_ID, LOYALTY_ID, ORDER_ID})

#: Identifiers that resolve a lookup but never link two customers.
REFERENCE_TYPES: Final = frozenset(
    {ORDER_ID, SHOPIFY_ORDER_ID, "ticket_id", "contact_id", "conversation_id"}
)

#: Highest first: which identifier keys a Kafka record and names a profile.
PRIORITY: Final = (USER_ID, EMAIL, PHONE, LOYALTY_ID, ANONYMOUS_ID)

TYPE_PATTERN: Final = re.compile(r"^[a-z][a-z0-9_]{1,62}$")
MAX_VALUE_LENGTH: Final = 256
MAX_EMAIL_LENGTH: Final = 254
_EMAIL_PATTERN: Final = re.compile(
    r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\".]+$"
)
_E164_PATTERN: Final = re.compile(r"^\+[1-9][0-9]{6,14}$")
_PHONE_PREFIXES: Final = ("tel:", "whatsapp:", "sms:")
#: Unicode category Cc (control characters) is exactly these code points.
_CONTROL: Final = re.compile("[\x00-\x1f\x7f-\x9f]")


def normalise_email(raw: str) -> str:
    """Trim, drop a `mailto:` prefix and lower-case; reject what is not an address."""
    value = raw.strip()
    if value[:7].lower() == "mailto:":
        value = value[7:].strip()
    value = value.lower()
    if not value:
        raise InvalidIdentifier("email is empty")
    if _CONTROL.search(value):
        raise InvalidIdentifier("email contains control characters")
    if len(value) > MAX_EMAIL_LENGTH:
        raise InvalidIdentifier(f"email is longer than {MAX_EMAIL_LENGTH} characters")
    if not _EMAIL_PATTERN.match(value):
        raise InvalidIdentifier("email is not an address of the form name@domain.tld")
    return value


def normalise_phone(raw: str, default_region: str = "US") -> str:
    """Parse with `phonenumbers` (national formats use `default_region`) and format as E.164.

    Numbers that are possible but not known to be assigned are accepted: numbering-plan
    metadata lags real allocations.
    """
    value = raw.strip()
    for prefix in _PHONE_PREFIXES:
        if value[: len(prefix)].lower() == prefix:
            value = value[len(prefix) :].strip()
    if not value:
        raise InvalidIdentifier("phone is empty")
    if len(value) > 64:
        raise InvalidIdentifier("phone is longer than 64 characters")
    try:
        number = phonenumbers.parse(value, default_region.upper())
    except NumberParseException as exc:
        raise InvalidIdentifier(f"phone cannot be parsed: {exc._msg}") from None
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason == ValidationResult.IS_POSSIBLE_LOCAL_ONLY:
        raise InvalidIdentifier("phone is a local number: include the area code")
    if reason != ValidationResult.IS_POSSIBLE:
        raise InvalidIdentifier(f"phone is not a possible number ({_REASONS.get(reason, reason)})")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


_REASONS: Final = {
    ValidationResult.INVALID_COUNTRY_CODE: "invalid country code",
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.TOO_LONG: "too long",
    ValidationResult.INVALID_LENGTH: "invalid length",
}


def normalise_opaque(type_: str, raw: str) -> str:
    """Trim an opaque id (user, device, loyalty, order...); ids stay case-sensitive."""
    value = raw.strip()
    if not value:
        raise InvalidIdentifier(f"{type_} is empty")
    if len(value) > MAX_VALUE_LENGTH:
        raise InvalidIdentifier(f"{type_} is longer than {MAX_VALUE_LENGTH} characters")
    if _CONTROL.search(value):
        raise InvalidIdentifier(f"{type_} contains control characters")
    return value


def normalise_order_id(raw: str, scope: str | None = None) -> str:
    """An order number as customers and agents type it: `#1001`, `1001` and ` 1001 ` are
    `1001`; `w-5001` is `W-5001`.

    A `scope` (a shop's domain, where two shops number their orders alike) is kept after
    `@`, lower-cased: `1001@acme.myshopify.com`. A value that already holds a scope keeps it.
    """
    value = normalise_opaque(ORDER_ID, raw)
    number, separator, held = value.rpartition(ORDER_SCOPE_SEPARATOR)
    if not separator:
        number, held = value, ""
    number = number.strip().lstrip("#").strip().upper()
    if not number:
        raise InvalidIdentifier("order_id has no order number")
    shop = (scope if scope is not None else held).strip().lower()
    scoped = f"{number}{ORDER_SCOPE_SEPARATOR}{shop}" if shop else number
    if len(scoped) > MAX_VALUE_LENGTH:
        raise InvalidIdentifier(f"order_id is longer than {MAX_VALUE_LENGTH} characters")
    return scoped


def check_type(type_: str) -> str:
    """Return `type_` if it is a valid identifier type name, else raise."""
    if not TYPE_PATTERN.match(type_):
        raise InvalidIdentifier(
            f"identifier type {type_[:40]!r} is not a lower-case name like 'email' or 'loyalty_id'"
        )
    return type_


def normalise_identifier(type_: str, raw: object, default_region: str = "US") -> str:
    """Normalise `raw` as an identifier of `type_`, or raise `InvalidIdentifier` with a reason."""
    check_type(type_)
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise InvalidIdentifier(f"{type_} must be a string")
    text = str(raw)
    if type_ == EMAIL:
        return normalise_email(text)
    if type_ == PHONE:
        return normalise_phone(text, default_region)
    if type_ == ORDER_ID:
        return normalise_order_id(text)
    return normalise_opaque(type_, text)


def _normalised_email_or_none(value: str) -> str | None:
    try:
        return normalise_email(value)
    except InvalidIdentifier:
        return None


class Identifier(BaseModel):
    """One normalised identifier of a person, e.g. `{type: "phone", value: "+14155550100"}`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str
    value: str

    @field_validator("type")
    @classmethod
    def _type_is_a_name(cls, value: str) -> str:
        # ValueError, so pydantic reports it as a validation error naming the field
        # (decoders turn those into InvalidEvent); InvalidIdentifier would escape them.
        try:
            return check_type(value)
        except InvalidIdentifier as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _value_is_normalised(self) -> Identifier:
        value = self.value
        if not value or len(value) > MAX_VALUE_LENGTH:
            raise ValueError(f"{self.type} value must be 1 to {MAX_VALUE_LENGTH} characters")
        if self.type == EMAIL and _normalised_email_or_none(value) != value:
            raise ValueError("email is not a normalised address (trimmed and lower-cased)")
        if self.type == PHONE and not _E164_PATTERN.match(value):
            raise ValueError("phone is not in E.164 form (+ and 7 to 15 digits)")
        return self

    # Identifiers are set members and dict keys all through stitching: compare the two
    # fields directly rather than through pydantic's generic model comparison.
    def __eq__(self, other: object) -> bool:
        if isinstance(other, Identifier):
            return self.type == other.type and self.value == other.value
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.type, self.value))

    @property
    def is_reference(self) -> bool:
        """True for ids (orders, tickets) that find a customer but never link two."""
        return self.type in REFERENCE_TYPES

    @classmethod
    def parse(cls, type_: str, raw: object, default_region: str = "US") -> Identifier:
        """Normalise a raw value into an `Identifier` (raises `InvalidIdentifier`)."""
        return cls(type=type_, value=normalise_identifier(type_, raw, default_region))


def primary_identifier(identifiers: list[Identifier] | tuple[Identifier, ...]) -> Identifier:
    """The identifier that keys a record: by `PRIORITY`, then any linking one, then any."""
    if not identifiers:
        raise InvalidIdentifier("an event needs at least one identifier")
    return min(
        identifiers,
        key=lambda i: (_RANK.get(i.type, len(PRIORITY)), i.is_reference, i.type, i.value),
    )


_RANK: Final = {t: i for i, t in enumerate(PRIORITY)}
