"""The one survivor resolution: which canonical customer a (possibly merged-away) id names.

A merge repoints every customer merged into the loser to the new survivor in the same
transaction, so `customers.merged_into` names the canonical customer and one hop is enough in a
consistent store. Older data may have left a longer chain, so the resolution follows
`merged_into` up to `MAX_MERGE_HOPS` hops, in SQL (a recursive CTE, `chain_sql`), whichever way
it is asked: inside a larger statement (`survivor_sql`, the profile and timeline reads, search)
or on its own (`survivor_of`). A chain that does not end within the hops (a cycle, or a store
left inconsistent) raises `MergeChainBroken`: it is never answered as an unknown customer.
"""

# SQL fragments built from module constants and parameter placeholders; values are parameters.
# ruff: noqa: S608

from __future__ import annotations

from typing import Final

from profile_store import ProfileStoreError
from profile_store.storage.connections import Db, on_driver
from profile_store.storage.driver import PgConnection, fetch_one

#: `merged_into` names the survivor; a walk stops after this many hops regardless.
MAX_MERGE_HOPS: Final = 8


class MergeChainBroken(ProfileStoreError):
    """`merged_into` links form a cycle or an over-long chain: the stored data is inconsistent."""


def chain_sql(start: str) -> str:
    """The recursive CTE `chain(start_id, customer_id, merged_into, hops)` (for `WITH RECURSIVE`)
    that walks from each `(customer_id, merged_into)` row of the query `start` towards its
    survivor: the row of `chain` whose `merged_into` is null is the canonical customer."""
    return (
        "chain(start_id, customer_id, merged_into, hops) AS ("
        f"SELECT s.customer_id, s.customer_id, s.merged_into, 0 FROM ({start}) AS s "
        "UNION ALL SELECT chain.start_id, c.customer_id, c.merged_into, chain.hops + 1 "
        "FROM customers c JOIN chain ON c.customer_id = chain.merged_into "
        f"WHERE chain.hops < {MAX_MERGE_HOPS})"
    )


def by_id(param: str) -> str:
    """A `start` query for `chain_sql`: the customer whose id is the parameter `param`
    (written in the caller's parameter style, e.g. `:customer_id` or `%(customer_id)s`)."""
    return f"SELECT customer_id, merged_into FROM customers WHERE customer_id = {param}"


def survivor_sql(param: str) -> str:
    """A scalar subquery: the canonical id for the customer id in `param`, or NULL (unknown,
    or a broken chain)."""
    return (
        f"(WITH RECURSIVE {chain_sql(by_id(param))} "
        "SELECT chain.customer_id FROM chain WHERE chain.merged_into IS NULL)"
    )


_SURVIVOR_OF: Final = (
    f"WITH RECURSIVE {chain_sql(by_id('%(customer_id)s'))} "
    "SELECT (SELECT chain.customer_id FROM chain WHERE chain.merged_into IS NULL) AS survivor, "
    "EXISTS (SELECT 1 FROM chain) AS known"
)


def canonical(survivor: str | None, known: bool) -> str | None:
    """The outcome of one resolution: the survivor, None for an unknown id, and
    `MergeChainBroken` for a known id whose chain does not end."""
    if survivor is not None:
        return survivor
    if known:
        raise MergeChainBroken(f"merge chain from a customer is longer than {MAX_MERGE_HOPS} hops")
    return None


async def survivor_of(db: Db | PgConnection, customer_id: str) -> str | None:
    """The canonical id for `customer_id` (itself unless merged away); None if unknown.
    Runs in `db`'s transaction when `db` is a connection."""
    async with on_driver(db) as conn:
        row = await fetch_one(conn, _SURVIVOR_OF, {"customer_id": customer_id})
    assert row is not None  # the statement always returns one row
    return canonical(row.survivor, row.known)
