"""Search box: find candidate customers from one free-text query, best first.

How a query is read is decided by `search_plan` (pure). Ranking: exact identifier matches
(and a customer id typed as such), case-insensitive identifier matches, local numbers typed
without their area code, names, email prefixes; most recently seen first within each.
Merged ids resolve to their survivor. Each hit names what matched (type and value).

Indexes: `lower(id_value) text_pattern_ops` for identifiers and `reverse(id_value)
text_pattern_ops` for the ends of phone numbers (migrations 0004 and 0008), a GIN index on
`NAME_DOCUMENT` for names; exact normalised identifiers use the primary key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from profile_store.domain.traits import flatten
from profile_store.read.errors import InvalidQuery
from profile_store.read.search_plan import SearchPlan, next_prefix, plan_search, tsquery
from profile_store.read.view_models import SearchHit, SearchMatch, SearchResults, ShownIdentifier
from profile_store.storage.connections import Db, on_driver
from profile_store.storage.driver import PgConnection, fetch_all
from profile_store.storage.survivor import chain_sql
from schemas.identifiers import EMAIL, PHONE
from schemas.phones import completes_local, display_phone

__all__ = ["NAME_DOCUMENT", "display_name", "plan_search", "search_customers"]

DEFAULT_RESULTS: Final = 10
MAX_RESULTS: Final = 50
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

EXACT, EXACT_CI, LOCAL, NAME, PREFIX = 0, 1, 2, 3, 4
_HOW: Final = {
    EXACT: "exact",
    EXACT_CI: "exact_case_insensitive",
    LOCAL: "local_number",
    NAME: "prefix",
    PREFIX: "prefix",
}


@dataclass(frozen=True)
class _Candidate:
    """One row that matched: its tier, its customer, and what matched (type and value)."""

    tier: int
    customer_id: str
    field: str
    value: str | None = None


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


_LOCAL_PHONE_ROWS: Final = (
    f"{_IDENTIFIER_COLUMNS} WHERE id_type = 'phone' AND reverse(id_value) ~>=~ %(low)s::text "
    "AND reverse(id_value) ~<~ %(high)s::text LIMIT %(cap)s"
)
_CUSTOMER_ROWS: Final = "SELECT customer_id FROM customers WHERE customer_id = %(id)s"


async def _identifier_rows(conn: PgConnection, plan: SearchPlan) -> list[_Candidate]:
    """Identifier matches: exact, case-insensitive, email and order prefixes."""
    params: dict[str, Any] = {"lower": plan.text.lower(), "cap": _ROW_CAP}
    conditions = []
    for n, (t, v) in enumerate(plan.exact):
        conditions.append(f"(id_type = %(t{n})s::text AND id_value = %(v{n})s::text)")
        params[f"t{n}"], params[f"v{n}"] = t, v
    conditions.append("lower(id_value) = %(lower)s::text")
    sql = f"{_IDENTIFIER_COLUMNS} WHERE {' OR '.join(conditions)} LIMIT %(cap)s"
    exact_set = set(plan.exact)
    found: list[_Candidate] = []
    for r in await fetch_all(conn, sql, params):
        exact = (r.id_type, r.id_value) in exact_set or r.id_value == plan.text
        found.append(_Candidate(EXACT if exact else EXACT_CI, r.customer_id, r.id_type, r.id_value))
    if plan.email_prefix is not None:
        upper = next_prefix(plan.email_prefix)
        bounds = {"low": plan.email_prefix, "high": upper, "cap": _ROW_CAP}
        sql = _EMAIL_PREFIX_ROWS.format(
            upper="" if upper is None else "AND lower(id_value) ~<~ %(high)s::text "
        )
        rows = await fetch_all(conn, sql, bounds)
        found += [_Candidate(PREFIX, r.customer_id, EMAIL, r.id_value) for r in rows]
    if plan.order_prefix is not None:
        found += await _prefix_rows(conn, _ORDER_PREFIX_ROWS, plan.order_prefix, EXACT_CI)
    return found


async def _prefix_rows(conn: PgConnection, sql: str, prefix: str, tier: int) -> list[_Candidate]:
    """Rows whose indexed expression starts with `prefix` (an order number typed without its
    shop; the reversed end of a phone number)."""
    upper = next_prefix(prefix)
    assert upper is not None
    params = {"low": prefix, "high": upper, "cap": _ROW_CAP}
    rows = await fetch_all(conn, sql, params)
    return [_Candidate(tier, r.customer_id, r.id_type, r.id_value) for r in rows]


async def _local_phone_rows(conn: PgConnection, plan: SearchPlan, region: str) -> list[_Candidate]:
    """Phones of the default region ending with a local number typed without its area code."""
    if plan.local_phone is None:
        return []
    rows = await _prefix_rows(conn, _LOCAL_PHONE_ROWS, plan.local_phone[::-1], LOCAL)
    return [c for c in rows if completes_local(c.value or "", plan.local_phone, region)]


async def _other_rows(
    conn: PgConnection, plan: SearchPlan, region: str, limit: int
) -> list[_Candidate]:
    """Customer ids typed as such, local phone numbers and names."""
    found = await _local_phone_rows(conn, plan, region)
    if plan.customer_id is not None:
        rows = await fetch_all(conn, _CUSTOMER_ROWS, {"id": plan.customer_id})
        found += [_Candidate(EXACT, r.customer_id, "customer_id", r.customer_id) for r in rows]
    if plan.name_tokens:
        params = {"tsq": tsquery(plan.name_tokens), "limit": limit}
        rows = await fetch_all(conn, _NAME_ROWS, params)
        found += [_Candidate(NAME, r.customer_id, "name") for r in rows]
    return found


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
        candidates += await _other_rows(conn, plan, default_region, limit * 2)
        if not candidates:
            return SearchResults(items=[])
        # Each candidate counts for its survivor (`profile_store.storage.survivor`); one erased
        # since the first statements has none and drops out.
        ids = sorted({c.customer_id for c in candidates})
        rows = await fetch_all(conn, _HITS, {"ids": ids, "shown": _SHOWN})
    survivor: dict[str, str] = {}
    info: dict[str, Any] = {}
    for r in rows:
        survivor[r.start_id] = r.customer_id
        info[r.customer_id] = r
    best: dict[str, _Candidate] = {}
    for c in candidates:
        canonical = survivor.get(c.customer_id)
        if canonical is not None and (canonical not in best or c.tier < best[canonical].tier):
            best[canonical] = c

    def rank(cid: str) -> tuple[int, float, str]:
        seen = info[cid].last_seen
        return (best[cid].tier, -seen.timestamp() if seen else float("inf"), cid)

    hits = []
    for cid in sorted((c for c in best if c in info), key=rank)[:limit]:
        hits.append(_hit(cid, info[cid], best[cid], default_region))
    return SearchResults(items=hits)


def _hit(cid: str, row: Any, matched: _Candidate, region: str) -> SearchHit:
    return SearchHit(
        customer_id=cid,
        name=display_name(flatten(row.traits or {})),
        identifiers=[shown_identifier(t, v, region) for t, v in row.shown],
        last_seen=row.last_seen,
        match=SearchMatch(
            field=matched.field,
            how=_HOW[matched.tier],
            value=matched.value,
            display=_display(matched.field, matched.value, region),
        ),
    )


def _display(type_: str, value: str | None, region: str) -> str | None:
    if value is None:
        return None
    return display_phone(value, region) if type_ == PHONE else value


def shown_identifier(type_: str, value: str, region: str = "US") -> ShownIdentifier:
    """An identifier with the form an agent reads (phones in national format)."""
    return ShownIdentifier(type=type_, value=value, display=_display(type_, value, region))
