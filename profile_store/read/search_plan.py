"""How one search-box query will be matched (pure: decided without the database).

A query is tried as every identifier it could be (an email, a phone number in any format the
normaliser accepts, an order number, any other id compared case-insensitively), as a local
phone number typed without its area code (`555-0132`, matched by its end among the default
region's numbers), as a customer id (`cus_...`), as a name (word prefixes of the name traits)
and as the start of an email address.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from profile_store.read.errors import InvalidQuery
from schemas import InvalidIdentifier
from schemas.identifiers import (
    EMAIL,
    ORDER_ID,
    ORDER_SCOPE_SEPARATOR,
    PHONE,
    normalise_email,
    normalise_order_id,
    normalise_phone,
)
from schemas.phones import local_digits

MAX_QUERY_LENGTH: Final = 256
MAX_NAME_TOKENS: Final = 5
MIN_EMAIL_PREFIX: Final = 3
MAX_ORDER_LENGTH: Final = 64
#: What the writer names customers (`cus_<hex>`); tests and imports may use shorter ids.
CUSTOMER_ID: Final = re.compile(r"^cus_[A-Za-z0-9_-]{1,96}$")
_PHONE_LIKE: Final = re.compile(r"^(?:tel:|sms:|whatsapp:)?[\d\s().+\-/]+$", re.IGNORECASE)
_WORD: Final = re.compile(r"[^\W_]+")
_EMAIL_PREFIX: Final = re.compile(r"^[\w.+\-@]+$")


@dataclass(frozen=True)
class SearchPlan:
    """What one query will be matched as."""

    text: str
    exact: tuple[tuple[str, str], ...] = ()
    name_tokens: tuple[str, ...] = ()
    email_prefix: str | None = None
    #: `1001@`: an order number typed without its shop finds it stored with one.
    order_prefix: str | None = None
    tried: tuple[str, ...] = ()
    #: A customer id typed as such.
    customer_id: str | None = None
    #: The digits of a local number typed without its area code.
    local_phone: str | None = None


def plan_search(query: str, default_region: str = "US") -> SearchPlan:
    """Decide how to match `query`; raises `InvalidQuery` if it is empty or too long."""
    q = query.strip()
    if not q:
        raise InvalidQuery("q must not be empty")
    if len(q) > MAX_QUERY_LENGTH:
        raise InvalidQuery(f"q must be at most {MAX_QUERY_LENGTH} characters")
    if any(unicodedata.category(ch) == "Cc" and not ch.isspace() for ch in q):
        raise InvalidQuery("q must not contain control characters")
    exact: list[tuple[str, str]] = []
    tried: list[str] = ["identifier"]
    if "@" in q:
        _add(exact, tried, EMAIL, normalise_email, q)
    local = None
    if _PHONE_LIKE.match(q) and sum(ch.isdigit() for ch in q) >= 7:
        _add(exact, tried, PHONE, lambda v: normalise_phone(v, default_region), q)
    if _PHONE_LIKE.match(q):
        local = local_digits(q, default_region)
        if local is not None:
            tried.append("local_phone")
    order_prefix = _order(q, exact, tried)
    customer_id = q if CUSTOMER_ID.match(q) else None
    if customer_id is not None:
        tried.append("customer_id")
    tokens: tuple[str, ...] = ()
    if "@" not in q and not any(ch.isdigit() for ch in q) and customer_id is None:
        tokens = tuple(t[:64] for t in _WORD.findall(q.lower())[:MAX_NAME_TOKENS])
        if tokens:
            tried.append("name")
    prefix = None
    if len(q) >= MIN_EMAIL_PREFIX and _EMAIL_PREFIX.match(q) and not _PHONE_LIKE.match(q):
        prefix = q.lower()
        tried.append("email_prefix")
    return SearchPlan(
        q, tuple(exact), tokens, prefix, order_prefix, tuple(tried), customer_id, local
    )


def _add(
    exact: list[tuple[str, str]], tried: list[str], type_: str, normalise: Any, q: str
) -> None:
    try:
        exact.append((type_, normalise(q)))
        tried.append(type_)
    except InvalidIdentifier:
        pass


def _order(q: str, exact: list[tuple[str, str]], tried: list[str]) -> str | None:
    """Match `q` as an order number; the prefix of the same number stored with a shop."""
    if not any(ch.isdigit() for ch in q) or len(q) > MAX_ORDER_LENGTH or " " in q:
        return None
    try:
        order = normalise_order_id(q)
    except InvalidIdentifier:
        return None
    exact.append((ORDER_ID, order))
    tried.append(ORDER_ID)
    return order.lower() + ORDER_SCOPE_SEPARATOR if ORDER_SCOPE_SEPARATOR not in order else None


def tsquery(tokens: Sequence[str]) -> str:
    """Word prefixes as a `to_tsquery` text (tokens are letters and digits only, so nothing
    in them is tsquery syntax)."""
    return " & ".join(f"{t}:*" for t in tokens)


def next_prefix(prefix: str) -> str | None:
    """The smallest string greater than every string starting with `prefix`."""
    last = ord(prefix[-1])
    return None if last >= 0x10FFFF else prefix[:-1] + chr(last + 1)
