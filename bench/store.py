"""A loaded store kept between runs (`--keep-store`): loading 10M events takes far longer than
the phases that read it, so the first run loads a template database and every later run
copies it (`CREATE DATABASE ... TEMPLATE`, a file copy) instead of generating it again."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import asdict

import orjson
from psycopg import sql

from bench.history import HISTORY_VERSION, LoadStats, load_history
from bench.stack import admin_connection
from profile_store.storage import migrate
from services.embedded import create_database, drop_database, with_database


def template_name(size: str, seed: int) -> str:
    """The kept store's database name for a size and seed."""
    return f"threadline_bench_store_{size}_{seed}"


def _recorded(admin_url: str, name: str) -> LoadStats | None:
    """The load statistics a complete template recorded, or None if missing or incomplete."""
    with admin_connection(admin_url) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (name,),
        ).fetchone()
    if row is None or not isinstance(row[0], str):
        return None
    try:
        note = orjson.loads(row[0])
        if note.get("revision") != migrate.head_revision():
            return None
        if note.get("history") != HISTORY_VERSION:
            return None
        return LoadStats(**note["stats"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None


def kept_store(
    admin_url: str, size: str, seed: int, customers: int, events: int, say: Callable[[str], None]
) -> tuple[str, LoadStats]:
    """A fresh copy of the kept store (loading the template first if it is missing or stale);
    returns the copy's URL and the template's load statistics."""
    name = template_name(size, seed)
    stats = _recorded(admin_url, name)
    if stats is None:
        say(f"history: building the kept store {name} (once)")
        drop_database(admin_url, name)
        create_database(admin_url, name)
        url = with_database(admin_url, name)
        migrate.upgrade(url)
        stats = load_history(url, seed, customers, events, say)
        say("history: VACUUM (FREEZE, ANALYZE), so copies start with clean pages")
        with admin_connection(url) as conn:
            conn.execute("VACUUM (FREEZE, ANALYZE)")
        note = orjson.dumps(
            {
                "revision": migrate.head_revision(),
                "history": HISTORY_VERSION,
                "stats": asdict(stats),
            }
        )
        with admin_connection(admin_url) as conn:
            conn.execute(
                sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                    sql.Identifier(name), sql.Literal(note.decode())
                )
            )
    copy = f"bench_main_{uuid.uuid4().hex[:6]}"
    say(f"history: copying the kept store {name}")
    with admin_connection(admin_url) as conn:
        conn.execute(
            # FILE_COPY: a multi-gigabyte template copied file by file, not through the WAL.
            sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                sql.Identifier(copy), sql.Identifier(name)
            )
        )
        # The copy leaves gigabytes of dirty pages: write them out now, not during the run.
        conn.execute("CHECKPOINT")
    os.sync()
    return with_database(admin_url, copy), stats
