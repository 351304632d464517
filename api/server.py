"""`threadline api`: validate the settings, then serve the app with uvicorn until SIGTERM."""

from __future__ import annotations

import sys
from typing import NoReturn

import uvicorn
from pydantic import ValidationError
from pydantic_settings import SettingsError

from api import ApiConfigError
from api.app import create_app
from api.settings import ApiSettings
from runtime.heap import freeze_heap

EXIT_CONFIG: int = 2
#: Seconds in-flight requests get to finish after SIGTERM/SIGINT.
GRACEFUL_SECONDS: int = 10


def _config_error(message: str) -> NoReturn:
    print(f"threadline api: invalid configuration: {message}", file=sys.stderr)
    raise SystemExit(EXIT_CONFIG)


def load_settings() -> ApiSettings:
    """`ApiSettings()` from the environment; a bad value exits 2 with a one-line message."""
    try:
        return ApiSettings()
    except ValidationError as exc:
        parts = []
        for err in exc.errors(include_input=False, include_url=False):
            message = err["msg"].removeprefix("Value error, ")
            where = "_".join(str(p) for p in err["loc"][:1]).upper().removeprefix("THREADLINE_")
            parts.append(f"THREADLINE_{where}: {message}" if where else message)
        _config_error("; ".join(parts))
    except SettingsError as exc:
        _config_error(str(exc))


def main() -> None:
    """Run the API. uvicorn stops accepting on SIGTERM, drains, then runs the lifespan exit."""
    settings = load_settings()
    try:
        app = create_app(settings)
    except ApiConfigError as exc:
        _config_error(exc.message)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        lifespan="on",
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
    )
    freeze_heap()
    uvicorn.Server(config).run()


if __name__ == "__main__":  # pragma: no cover
    main()
