"""Reading the unverified claims of a customer's browser events (what to show: `domain.trust`).

The newest events carrying claims are read through the partial index `ix_timeline_claims`, a
bounded number of them, so a customer with a long browsing history costs the same to open.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

from profile_store.domain.trust import Claim

#: Events with claims examined per profile or lineage read, newest first.
CLAIM_EVENTS: Final = 200


def claims_sql(customer: str) -> str:
    """A JSON array of `[type, value, event_id, occurred_at]`, one per claim of the newest
    claim-bearing events of the customer whose id is the SQL expression `customer`."""
    # `customer` is a fixed SQL expression or a placeholder of the callers, never a value.
    return (
        "(SELECT coalesce(json_agg(json_build_array(x->>'type', x->>'value', c.event_id, "  # noqa: S608
        "c.occurred_at)), '[]') FROM (SELECT t.event_id, t.occurred_at, t.claims "
        f"FROM timeline_events t WHERE t.customer_id = {customer} AND t.claims IS NOT NULL "
        f"ORDER BY t.occurred_at DESC, t.id DESC LIMIT {CLAIM_EVENTS}) AS c "
        "CROSS JOIN LATERAL jsonb_array_elements(c.claims) AS x)"
    )


def claims_of(rows: Iterable[Any]) -> list[Claim]:
    """The claims of `claims_sql`'s array."""
    return [
        Claim(t, v, e, at if isinstance(at, datetime) else datetime.fromisoformat(at))
        for t, v, e, at in rows
    ]
