"""Search box: find candidate customers from one free-text query, best first.

A query is tried as every identifier it could be (an email, a phone number in any format the
normaliser accepts, any other id compared case-insensitively), as a name (word prefixes of
the `name`, `first_name` and `last_name` traits) and as the start of an email address.
Ranking: exact identifier matches, case-insensitive identifier matches, names, email
prefixes; most recently seen first within each. Merged ids resolve to their survivor.

Indexes (migration 0004): `lower(id_value) text_pattern_ops` for identifiers, a GIN index
on `NAME_DOCUMENT` for names; exact normalised identifiers use the primary key.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from profile_store.domain.traits import flatten
from profile_store.read.errors import InvalidQuery
from profile_store.read.models import IdentifierRef
from profile_store.read.view_models import SearchHit, SearchMatch, SearchResults
from profile_store.storage.connections import Db, on_driver
from profile_store.storage.driver import PgConnection, fetch_all
from profile_store.storage.survivor import chain_sql
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

MAX_QUERY_LENGTH: Final = 256
DEFAULT_RESULTS: Final = 10
MAX_RESULTS: Final = 50
MAX_NAME_TOKENS: Final = 5
MIN_EMAIL_PREFIX: Final = 3
MAX_ORDER_LENGTH: Final = 64
#: Identifier rows examined per query; more would only be ranked away.
_ROW_CAP: Final = 200
#: Identifiers shown per hit, preferred types first.
_SHOWN: Final = 4
#: Must match migration 0004's index expression character for character.
NAME_DOCUMENT: Final = (
    "to_tsvector('simple'::regconfig, "
    "coalesce(traits -> 'name' ->> 'value', '') || ' ' || "
    "coalesce(traits -> 'first_name' ->> 'value', '') || ' ' || "
    "coalesce(traits -> 'last_name' ->> 'value', ''))"
)
_PHONE_LIKE: Final = re.compile(r"^(?:tel:|sms:|whatsapp:)?[\d\s().+\-/]+$", re.IGNORECASE)
_WORD: Final = re.compile(r"[^\W_]+")
_EMAIL_PREFIX: Final = re.compile(r"^[\w.+\-@]+$")

EXACT, EXACT_CI, NAME, PREFIX = 0, 1, 2, 3
_HOW: Final = {EXACT: "exact", EXACT_CI: "exact_case_insensitive", NAME: "prefix", PREFIX: "prefix"}


@dataclass(frozen=True)
class SearchPlan:
    """What one query will be matched as (pure: built without the database)."""

    text: str
    exact: tuple[tuple[str, str], ...] = ()
    name_tokens: tuple[str, ...] = ()
    email_prefix: str | None = None
    #: `1001@`: an order number typed without its shop finds it stored with one.
    order_prefix: str | None = None
    tried: tuple[str, ...] = ()


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
        try:
            exact.append((EMAIL, normalise_email(q)))
            tried.append(EMAIL)
        except InvalidIdentifier:
            pass
    if _PHONE_LIKE.match(q) and sum(ch.isdigit() for ch in q) >= 7:
        try:
            exact.append((PHONE, normalise_phone(q, default_region)))
            tried.append(PHONE)
        except InvalidIdentifier:
            pass
    order_prefix = None
    if any(ch.isdigit() for ch in q) and len(q) <= MAX_ORDER_LENGTH and " " not in q.strip():
        try:
            order = normalise_order_id(q)
        except InvalidIdentifier:
            order = None
        if order is not None:
            exact.append((ORDER_ID, order))
            tried.append(ORDER_ID)
            if ORDER_SCOPE_SEPARATOR not in order:
                order_prefix = order.lower() + ORDER_SCOPE_SEPARATOR
    tokens: tuple[str, ...] = ()
    if "@" not in q and not any(ch.isdigit() for ch in q):
        tokens = tuple(t[:64] for t in _WORD.findall(q.lower())[:MAX_NAME_TOKENS])
        if tokens:
            tried.append("name")
    prefix = None
    if len(q) >= MIN_EMAIL_PREFIX and _EMAIL_PREFIX.match(q) and not _PHONE_LIKE.match(q):
        prefix = q.lower()
        tried.append("email_prefix")
    return SearchPlan(q, tuple(exact), tokens, prefix, order_prefix, tuple(tried))


def _tsquery(tokens: Sequence[str]) -> str:
    # Tokens are letters and digits only, so nothing in them is tsquery syntax.
    return " & ".join(f"{t}:*" for t in tokens)


def _next_prefix(prefix: str) -> str | None:
    """The smallest string greater than every string starting with `prefix`."""
    last = ord(prefix[-1])
    return None if last >= 0x10FFFF else prefix[:-1] + chr(last + 1)


# Identifier rows examined per query; the email-prefix form walks `ix_identifiers_value_lower`.
_IDENTIFIER_COLUMNS: Final = "SELECT id_type, id_value, customer_id FROM identifiers"
_EMAIL_PREFIX_ROWS: Final = (
    f"{_IDENTIFIER_COLUMNS} WHERE id_type = 'email' AND lower(id_value) ~>=~ %(low)s::text "
    "{upper}ORDER BY lower(id_value) LIMIT %(cap)s"
)
_ORDER_PREFIX_ROWS: Final = (
    f"{_IDENTIFIER_COLUMNS} WHERE id_type = 'order_id' AND lower(id_value) ~>=~ %(low)s::text "
    "AND lower(id_value) ~<~ %(high)s::text LIMIT %(cap)s"
)
# Module constants only; values are parameters.
_NAME_ROWS: Final = (
    f"SELECT customer_id FROM customers WHERE {NAME_DOCUMENT} "  # noqa: S608
    "@@ to_tsquery('simple'::regconfig, %(tsq)s::text) "
    "ORDER BY last_seen DESC NULLS LAST, customer_id LIMIT %(limit)s"
)


async def _identifier_rows(conn: PgConnection, plan: SearchPlan) -> list[tuple[int, Any, str]]:
    """(tier, row, matched type) for identifier matches."""
    params: dict[str, Any] = {"lower": plan.text.lower(), "cap": _ROW_CAP}
    conditions = []
    for n, (t, v) in enumerate(plan.exact):
        conditions.append(f"(id_type = %(t{n})s::text AND id_value = %(v{n})s::text)")
        params[f"t{n}"], params[f"v{n}"] = t, v
    conditions.append("lower(id_value) = %(lower)s::text")
    sql = f"{_IDENTIFIER_COLUMNS} WHERE {' OR '.join(conditions)} LIMIT %(cap)s"
    exact_set = set(plan.exact)
    found: list[tuple[int, Any, str]] = []
    for r in await fetch_all(conn, sql, params):
        exact = (r.id_type, r.id_value) in exact_set or r.id_value == plan.text
        found.append((EXACT if exact else EXACT_CI, r, r.id_type))
    if plan.email_prefix is not None:
        upper = _next_prefix(plan.email_prefix)
        bounds = {"low": plan.email_prefix, "high": upper, "cap": _ROW_CAP}
        sql = _EMAIL_PREFIX_ROWS.format(
            upper="" if upper is None else "AND lower(id_value) ~<~ %(high)s::text "
        )
        found += [(PREFIX, r, EMAIL) for r in await fetch_all(conn, sql, bounds)]
    if plan.order_prefix is not None:
        found += await _order_rows(conn, plan.order_prefix)
    return found


async def _order_rows(conn: PgConnection, prefix: str) -> list[tuple[int, Any, str]]:
    """Orders stored with their shop (`1001@acme.myshopify.com`) for a number typed alone."""
    upper = _next_prefix(prefix)
    assert upper is not None
    params = {"low": prefix, "high": upper, "cap": _ROW_CAP}
    return [(EXACT_CI, r, ORDER_ID) for r in await fetch_all(conn, _ORDER_PREFIX_ROWS, params)]


async def _name_rows(conn: PgConnection, plan: SearchPlan, limit: int) -> list[Any]:
    if not plan.name_tokens:
        return []
    params = {"tsq": _tsquery(plan.name_tokens), "limit": limit}
    return await fetch_all(conn, _NAME_ROWS, params)


# The hits' display data in one statement: the survivor of each candidate (`start_id`), with
# its preferred identifiers (emails, phones, loyalty ids, user ids, then the rest; oldest first
# within a type).
_HITS: Final = f"""WITH RECURSIVE {
    chain_sql("SELECT customer_id, merged_into FROM customers WHERE customer_id = ANY(%(ids)s)")
}
   SELECT chain.start_id, c.customer_id, c.last_seen, c.traits,
     (SELECT coalesce(json_agg(json_build_array(s.id_type, s.id_value)
                               ORDER BY s.preference, s.first_seen), '[]') FROM (
        SELECT i.id_type, i.id_value, i.first_seen,
               CASE i.id_type WHEN 'email' THEN 0 WHEN 'phone' THEN 1
                    WHEN 'loyalty_id' THEN 2 WHEN 'user_id' THEN 3 ELSE 4 END AS preference
        FROM identifiers i WHERE i.customer_id = c.customer_id
        ORDER BY preference, i.first_seen LIMIT %(shown)s) AS s) AS shown
   FROM chain JOIN customers c ON c.customer_id = chain.customer_id
   WHERE chain.merged_into IS NULL"""  # noqa: S608 - module constants only


def display_name(traits: dict[str, Any]) -> str | None:
    """`name`, else `first_name last_name`, from flattened traits."""
    name = traits.get("name")
    if isinstance(name, str) and name.strip():
        return name.strip()
    parts = [traits.get(k) for k in ("first_name", "last_name")]
    joined = " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
    return joined or None


async def search_customers(
    db: Db | PgConnection, query: str, default_region: str = "US", limit: int = DEFAULT_RESULTS
) -> SearchResults:
    """Candidate customers for `query`, best first, at most `limit`."""
    if not 1 <= limit <= MAX_RESULTS:
        raise InvalidQuery(f"limit must be between 1 and {MAX_RESULTS}")
    plan = plan_search(query, default_region)
    async with on_driver(db) as conn:
        candidates = await _identifier_rows(conn, plan)
        candidates += [(NAME, r, "name") for r in await _name_rows(conn, plan, limit * 2)]
        if not candidates:
            return SearchResults(items=[])
        # Each candidate counts for its survivor (`profile_store.storage.survivor`); one erased
        # since the first statements has none and drops out.
        ids = sorted({row.customer_id for _, row, _ in candidates})
        rows = await fetch_all(conn, _HITS, {"ids": ids, "shown": _SHOWN})
    survivor: dict[str, str] = {}
    info: dict[str, Any] = {}
    for r in rows:
        survivor[r.start_id] = r.customer_id
        info[r.customer_id] = r
    best: dict[str, tuple[int, str]] = {}
    for tier, row, matched in candidates:
        canonical = survivor.get(row.customer_id)
        if canonical is not None and (canonical not in best or tier < best[canonical][0]):
            best[canonical] = (tier, matched)
    ids = list(best)

    def rank(cid: str) -> tuple[int, float, str]:
        seen = info[cid].last_seen
        return (best[cid][0], -seen.timestamp() if seen else float("inf"), cid)

    hits = []
    for cid in sorted((c for c in ids if c in info), key=rank)[:limit]:
        tier, matched = best[cid]
        hits.append(
            SearchHit(
                customer_id=cid,
                name=display_name(flatten(info[cid].traits or {})),
                identifiers=[IdentifierRef(type=t, value=v) for t, v in info[cid].shown],
                last_seen=info[cid].last_seen,
                match=SearchMatch(field=matched, how=_HOW[tier]),
            )
        )
    return SearchResults(items=hits)
