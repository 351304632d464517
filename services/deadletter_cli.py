"""`threadline deadletter list|show|replay`: inspect dead letters and replay them after a fix.

Replay republishes the original bytes, with the original key, to `threadline.interactions`
(acks=all, idempotent producer) and stamps `replayed_at`; the worker then processes them
like any record, so a replayed event is written once (writes are idempotent on event_id)
or, if it still fails, dead-lettered again (which clears `replayed_at`). Records that still
do not decode with this version are skipped unless `--force`: replaying them changes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import sys
from collections.abc import Sequence
from typing import Any

import orjson
from kafka import KafkaProducer
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from profile_store.deadletters import (
    MAX_LIST,
    DeadLetterDetail,
    get_dead_letter,
    list_dead_letters,
    mark_replayed,
)
from profile_store.storage.engines import make_async_engine
from schemas import topics
from schemas.errors import InvalidEvent
from schemas.events import decode_event

SEND_TIMEOUT_S = 30.0


class DeadLetterSettings(BaseSettings):
    """`threadline deadletter`: the database, and the broker replays publish to."""

    model_config = SettingsConfigDict(env_prefix="THREADLINE_", frozen=True, extra="ignore")

    database_url: str
    kafka_bootstrap: str = Field(default="127.0.0.1:9092", min_length=3)


def add_parser(sub: Any) -> None:
    """Register `deadletter` and its subcommands on the CLI's subparsers."""
    dl = sub.add_parser("deadletter", help="List, show and replay dead letters.")
    dl.set_defaults(fn=run)
    cmds = dl.add_subparsers(dest="action", required=True)
    ls = cmds.add_parser("list", help="Dead letters, newest first (pending only by default).")
    ls.add_argument("--all", action="store_true", help="include replayed letters")
    ls.add_argument("--component", help="e.g. worker.decode or worker.write")
    ls.add_argument("--limit", type=int, default=100, choices=range(1, MAX_LIST + 1), metavar="N")
    show = cmds.add_parser("show", help="One dead letter as JSON, with its original bytes.")
    show.add_argument("id", type=int)
    replay = cmds.add_parser("replay", help="Republish dead letters to the interactions topic.")
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument("ids", type=int, nargs="*", default=[], help="dead letter ids")
    which.add_argument("--pending", action="store_true", help="every letter not replayed yet")
    replay.add_argument("--component", help="with --pending: only this component")
    replay.add_argument("--dry-run", action="store_true", help="say what would be replayed")
    replay.add_argument("--force", action="store_true", help="also replay undecodable records")


def run(args: argparse.Namespace) -> int:
    """Dispatch a `deadletter` subcommand."""
    settings = DeadLetterSettings()
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: DeadLetterSettings) -> int:
    engine = make_async_engine(settings.database_url, pool_size=1, max_overflow=0)
    try:
        if args.action == "list":
            async with engine.connect() as conn:
                letters = await list_dead_letters(
                    conn, pending_only=not args.all, component=args.component, limit=args.limit
                )
            for d in letters:
                state = (
                    f"replayed {d.replayed_at:%Y-%m-%dT%H:%M:%SZ}" if d.replayed_at else "pending"
                )
                print(
                    f"{d.id}\t{d.component}\t{d.attempts}x\t{d.last_seen:%Y-%m-%dT%H:%M:%SZ}\t"
                    f"{state}\t{d.event_id or '-'}\t{d.failure.type}: {d.failure.message[:120]}"
                )
            print(f"{len(letters)} dead letter(s)", file=sys.stderr)
            return 0
        if args.action == "show":
            async with engine.connect() as conn:
                letter = await get_dead_letter(conn, args.id)
            if letter is None:
                print(f"no dead letter {args.id}", file=sys.stderr)
                return 1
            print(orjson.dumps(_readable(letter), option=orjson.OPT_INDENT_2).decode())
            return 0
        return await _replay(engine, args, settings)
    finally:
        await engine.dispose()


def _readable(letter: DeadLetterDetail) -> dict[str, Any]:
    data = letter.model_dump(mode="json")
    raw = base64.b64decode(letter.original_b64)
    try:
        data["original_text"] = raw.decode("utf-8")
    except UnicodeDecodeError:
        data["original_text"] = None
    return data


def _still_undecodable(raw: bytes) -> str | None:
    try:
        decode_event(raw)
    except InvalidEvent as exc:
        return str(exc)
    return None


async def _replay(engine: Any, args: argparse.Namespace, settings: DeadLetterSettings) -> int:
    async with engine.connect() as conn:
        if args.pending:
            summaries = await list_dead_letters(
                conn, pending_only=True, component=args.component, limit=MAX_LIST
            )
            ids: Sequence[int] = [d.id for d in summaries]
        else:
            ids = args.ids
        letters = [await get_dead_letter(conn, i) for i in ids]
    missing = [i for i, d in zip(ids, letters, strict=True) if d is None]
    for i in missing:
        print(f"no dead letter {i}", file=sys.stderr)
    chosen: list[tuple[DeadLetterDetail, bytes]] = []
    for d in (d for d in letters if d is not None):
        raw = base64.b64decode(d.original_b64)
        problem = _still_undecodable(raw)
        if problem and not args.force:
            print(f"skip {d.id}: still does not decode ({problem[:120]}); --force replays it")
            continue
        chosen.append((d, raw))
        print(
            f"{'would replay' if args.dry_run else 'replay'} {d.id} ({d.component}, {len(raw)} B)"
        )
    if args.dry_run or not chosen:
        print(f"{len(chosen)} to replay{' (dry run: nothing sent)' if args.dry_run else ''}")
        return 1 if missing else 0
    sent = await asyncio.to_thread(_publish, settings.kafka_bootstrap, chosen)
    async with engine.begin() as conn:
        await mark_replayed(conn, sent)
    print(f"{len(sent)} replayed to {topics.INTERACTIONS}")
    return 1 if missing or len(sent) < len(chosen) else 0


def _publish(bootstrap: str, chosen: list[tuple[DeadLetterDetail, bytes]]) -> list[int]:
    """Send each record and wait for the broker's acknowledgement; the ids acknowledged."""
    producer = KafkaProducer(
        bootstrap_servers=bootstrap.split(","),
        acks="all",
        enable_idempotence=True,
        client_id="threadline-deadletter-replay",
    )
    try:
        futures = [
            (
                d.id,
                producer.send(
                    topics.INTERACTIONS,
                    key=base64.b64decode(d.key_b64) if d.key_b64 else None,
                    value=raw,
                ),
            )
            for d, raw in chosen
        ]
        producer.flush(SEND_TIMEOUT_S)
        acked = []
        for letter_id, future in futures:
            try:
                future.get(timeout=SEND_TIMEOUT_S)
                acked.append(letter_id)
            except Exception as exc:
                print(f"replay of {letter_id} failed: {type(exc).__name__}", file=sys.stderr)
        return acked
    finally:
        producer.close(SEND_TIMEOUT_S)
