"""Process entry point of the ingest gateway: settings, then uvicorn with graceful shutdown."""

from __future__ import annotations

import sys

import uvicorn
from pydantic import ValidationError

from ingest.app import create_app
from ingest.settings import IngestSettings
from runtime.heap import freeze_heap

EXIT_CONFIG: int = 2
EXIT_STARTUP: int = 3


def describe_config_error(exc: ValidationError) -> str:
    """One line per bad setting, naming its variable and never echoing the value."""
    lines = []
    for err in exc.errors(include_input=False, include_url=False):
        field = ".".join(str(p) for p in err["loc"]).upper()
        name = field.removeprefix("THREADLINE_") if field else ""
        name = f"THREADLINE_{name}" if name else "THREADLINE_* settings"
        lines.append(f"  {name}: {err['msg']}")
    return "\n".join(lines)


def main() -> None:
    """Run the gateway until SIGINT/SIGTERM; exit 2 on bad configuration."""
    try:
        settings = IngestSettings()
    except ValidationError as exc:
        print(
            f"threadline ingest: invalid configuration\n{describe_config_error(exc)}",
            file=sys.stderr,
        )
        raise SystemExit(EXIT_CONFIG) from None
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=int(settings.publish_timeout_s) + 5,
        server_header=False,
    )
    server = uvicorn.Server(config)
    freeze_heap()
    server.run()
    if not server.started:
        raise SystemExit(EXIT_STARTUP)


if __name__ == "__main__":
    main()
