"""The `threadline` command line: one entry point for every role, as on Kubernetes.

`api` and `ingest` are started by import string (the composition root), so nothing
imports those packages statically and the layer contracts hold.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import os
import re
import secrets
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

from pydantic import ValidationError

from schemas.screen_pops import AGENT_NAME_PATTERN, MAX_AGENT_NAME
from services import insights
from services.logs import configure_logging
from services.settings import LogSettings, MigrateSettings

EXIT_CONFIG = 2
EXIT_STARTUP = 3

#: role -> "module:function" run in this process.
SERVERS = {
    "api": "api.server:main",
    "ingest": "ingest.server:main",
    "smtp": "ingest.email.smtp:main",
}


def _load(target: str) -> Callable[[], None]:
    module, _, func = target.partition(":")
    fn: Callable[[], None] = getattr(importlib.import_module(module), func)
    return fn


def _config_error(exc: ValidationError) -> int:
    for err in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in err["loc"]).upper().removeprefix("THREADLINE_")
        message = err["msg"].removeprefix("Value error, ")
        text = f"THREADLINE_{where}: {message}" if where else message
        print(f"threadline: configuration error: {text}", file=sys.stderr)
    return EXIT_CONFIG


def cmd_migrate(_: argparse.Namespace) -> int:
    """Upgrade the database schema and create missing Kafka topics."""
    from profile_store.storage import migrate
    from services.kafka_admin import ensure_topics
    from services.startup import DependencyUnavailable, wait_for_database, wait_for_kafka

    settings = MigrateSettings()
    try:
        wait_for_database(settings.database_url, settings.startup_timeout_s)
        if settings.kafka_bootstrap:
            wait_for_kafka(settings.kafka_bootstrap, settings.startup_timeout_s)
    except DependencyUnavailable as exc:
        print(f"threadline migrate: {exc}", file=sys.stderr)
        return EXIT_STARTUP
    migrate.upgrade(settings.database_url)
    print(f"database at revision {migrate.current_revision(settings.database_url)}")
    if settings.kafka_bootstrap:
        created = ensure_topics(
            settings.kafka_bootstrap,
            settings.partitions,
            settings.replication_factor,
            client_options=settings.kafka_client_options(),
        )
        print(f"topics created: {', '.join(created) or 'none (all present)'}")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the Faust stitching worker."""
    from services.probes import ProbeStartError
    from services.worker import main

    try:
        main(log_level=args.log_level)
    except ProbeStartError as exc:
        print(f"threadline worker: {exc}", file=sys.stderr)
        return EXIT_STARTUP
    return 0


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def cmd_server(args: argparse.Namespace) -> int:
    """Run the API, the ingest gateway or the SMTP listener."""
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal to the previous
    # handler: make that a clean exit (0), so a rolling update does not look like a crash.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    _load(SERVERS[args.command])()
    return 0


def cmd_dev(args: argparse.Namespace) -> int:
    """Run the whole stack locally with the embedded broker and PostgreSQL."""
    from services.devstack import run_dev

    return run_dev(demo=args.demo)


def cmd_import(args: argparse.Namespace) -> int:
    """Bulk-load a file of a native format through the ingest gateway."""
    from services.importer import run_import

    return run_import(args.format, args.file, args.gateway, args.write_key)


def cmd_schema(args: argparse.Namespace) -> int:
    """Write (or check) the committed JSON Schema of the canonical event."""
    from schemas.jsonschema import SCHEMA_FILE, render_schema, write_schema

    if args.check:
        if SCHEMA_FILE.read_bytes() != render_schema():
            print(f"{SCHEMA_FILE} is stale: run `threadline schema`", file=sys.stderr)
            return 1
        return 0
    print(write_schema())
    return 0


def cmd_hash_key(args: argparse.Namespace) -> int:
    """Print a new API key (or hash a given one) as THREADLINE_API_KEYS expects."""
    if len(args.name) > MAX_AGENT_NAME or not re.match(AGENT_NAME_PATTERN, args.name):
        print("--name: letters, digits and . _ @ - (64 at most), e.g. desk-7", file=sys.stderr)
        return 2
    key = args.key or f"tl_{secrets.token_urlsafe(32)}"
    digest = hashlib.sha256(key.encode()).hexdigest()
    if not args.key:
        print(f"key (give to the client, store nowhere else): {key}")
    print(f'{{"name": "{args.name}", "role": "{args.role}", "sha256": "{digest}"}}')
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests)."""
    parser = argparse.ArgumentParser(prog="threadline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help=cmd_migrate.__doc__).set_defaults(fn=cmd_migrate)
    sub.add_parser("worker", help=cmd_worker.__doc__).set_defaults(fn=cmd_worker)
    for role in SERVERS:
        sub.add_parser(role, help=f"Run the {role} server.").set_defaults(fn=cmd_server)
    dev = sub.add_parser("dev", help=cmd_dev.__doc__)
    dev.add_argument("--demo", action="store_true", help="load a synthetic journey set")
    dev.set_defaults(fn=cmd_dev)
    from services.importer import FORMATS

    imp = sub.add_parser("import", help=cmd_import.__doc__)
    imp.add_argument("format", choices=sorted(FORMATS))
    imp.add_argument("file", type=Path)
    imp.add_argument(
        "--gateway", default=os.environ.get("THREADLINE_GATEWAY_URL", "http://127.0.0.1:8001")
    )
    imp.add_argument(
        "--write-key",
        default=os.environ.get("THREADLINE_IMPORT_WRITE_KEY", "dev-write-key"),
        help="write key (default: THREADLINE_IMPORT_WRITE_KEY, else the dev key)",
    )
    imp.set_defaults(fn=cmd_import)
    schema = sub.add_parser("schema", help=cmd_schema.__doc__)
    schema.add_argument("--check", action="store_true", help="fail if the file is stale")
    schema.set_defaults(fn=cmd_schema)
    hk = sub.add_parser("hash-key", help=cmd_hash_key.__doc__)
    hk.add_argument(
        "--name",
        default="console",
        help="the key's name: for an agent, the agent's name (screen pops are addressed to it)",
    )
    hk.add_argument("--role", choices=["agent", "admin"], default="agent")
    hk.add_argument("--key", help="hash this key instead of generating one")
    hk.set_defaults(fn=cmd_hash_key)
    from services.deadletter_cli import add_parser as add_deadletter

    add_deadletter(sub)
    insights.add_parser(sub)
    return parser


#: Commands that talk to a running stack: without settings they find the dev stack.
STACK_COMMANDS = frozenset({"deadletter", "insights", "import"})


def use_running_dev_stack() -> str | None:
    """Point the settings at the running `threadline dev` stack when none are given;
    returns the data folder of the stack used."""
    if os.environ.get("THREADLINE_DATABASE_URL"):
        return None
    from services.devstack.runstate import find_running_stack

    info = find_running_stack(os.environ.get("THREADLINE_DATA_DIR"))
    if info is None:
        return None
    os.environ["THREADLINE_DATABASE_URL"] = info.database_url
    os.environ.setdefault("THREADLINE_KAFKA_BOOTSTRAP", info.kafka_bootstrap)
    os.environ.setdefault("THREADLINE_GATEWAY_URL", info.ingest_url)
    os.environ.setdefault("THREADLINE_DEV_MODE", "true")
    return info.data_dir


def _follow_supervisor() -> None:
    """A child of `threadline dev` gets SIGTERM when its supervisor dies (Linux), so a
    supervisor killed with SIGKILL leaves no gateway accepting into an orphaned broker."""
    raw = os.environ.get("THREADLINE_DEV_SUPERVISOR_PID")
    if not raw or not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != int(raw):  # it died before the call above
        os.kill(os.getpid(), signal.SIGTERM)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `threadline` script."""
    words = list(sys.argv[1:] if argv is None else argv)
    if words and words[0] in STACK_COMMANDS:
        used = use_running_dev_stack()
        if used:
            print(f"threadline: using the dev stack running from {used}", file=sys.stderr)
    if words[:2] == ["insights", "run"] or (words and words[0] in ("worker", *SERVERS)):
        _follow_supervisor()
    args = build_parser().parse_args(argv)
    try:
        logs = LogSettings()
        configure_logging(logs.log_level, logs.log_json)
        args.log_level = logs.log_level.upper()
        result: int = args.fn(args)
        return result
    except ValidationError as exc:
        return _config_error(exc)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
