"""A tiny HTTP endpoint for liveness, readiness and metrics, for roles without a web app.

The stream worker and the SMTP listener have no HTTP server of their own, yet Kubernetes
probes and Prometheus need one. This stdlib-only asyncio server answers `GET /healthz`
(the process serves), `GET /readyz` (every dependency check passes) and `GET /metrics`
(whatever the role's registry renders), and nothing else. It lives in `runtime` so
both `ingest` and `services` can use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Final

#: Each check names a dependency and answers whether it is reachable right now.
ReadinessCheck = Callable[[], Awaitable[Mapping[str, bool]]]
MetricsRenderer = Callable[[], tuple[bytes, str]]

MAX_REQUEST_BYTES: Final = 8192
READ_TIMEOUT_S: Final = 5.0
_JSON: Final = "application/json"
_REASONS: Final = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Unavailable"}


class ProbeServer:
    """Answers /healthz, /readyz and /metrics on one port; every other request gets a 404."""

    def __init__(
        self, ready: ReadinessCheck, metrics: MetricsRenderer, *, check_timeout_s: float = 3.0
    ) -> None:
        self._ready = ready
        self._metrics = metrics
        self._check_timeout_s = check_timeout_s
        self._server: asyncio.AbstractServer | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen on `host:port` (0 = a free port) on the running loop; returns the port."""
        self._server = await asyncio.start_server(self._handle, host=host, port=port)
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def answer(self, method: str, path: str) -> tuple[int, bytes, str]:
        """Status, body and content type for one request (exposed for tests)."""
        path = path.split("?", 1)[0]
        if path not in ("/healthz", "/readyz", "/metrics"):
            return _json(404, {"error": {"code": "not_found", "message": f"no route {path}"}})
        if method not in ("GET", "HEAD"):
            return _json(405, {"error": {"code": "method_not_allowed", "message": "use GET"}})
        if path == "/healthz":
            return _json(200, {"status": "ok"})
        if path == "/metrics":
            body, content_type = self._metrics()
            return 200, body, content_type
        checks = await self._run_checks()
        down = sorted(name for name, ok in checks.items() if not ok)
        states = {name: "ok" if ok else "down" for name, ok in checks.items()}
        if down:
            message = f"not ready: {' and '.join(down)} unreachable"
            return _json(
                503, {"error": {"code": "not_ready", "message": message}, "checks": states}
            )
        return _json(200, {"status": "ready", "checks": states})

    async def _run_checks(self) -> Mapping[str, bool]:
        try:
            async with asyncio.timeout(self._check_timeout_s):
                return await self._ready()
        except Exception:  # a check that fails or hangs means "not ready", never a crash
            return {"checks": False}

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(READ_TIMEOUT_S):
                head = await reader.readuntil(b"\r\n\r\n")
            parts = head[:MAX_REQUEST_BYTES].split(b"\r\n", 1)[0].decode("latin-1").split()
            if len(parts) != 3:
                return
            status, body, content_type = await self.answer(parts[0], parts[1])
            body_out = b"" if parts[0] == "HEAD" else body
            header = (
                f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
                f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n"
            )
            writer.write(header.encode("latin-1") + body_out)
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def _json(status: int, payload: object) -> tuple[int, bytes, str]:
    return status, json.dumps(payload).encode(), _JSON


def bootstrap_servers(bootstrap: str) -> list[tuple[str, int]]:
    """`host:port[,host:port]` as pairs (port 9092 when omitted)."""
    servers = []
    for item in bootstrap.split(","):
        host, _, port = item.strip().rpartition(":")
        if not host:
            host, port = port, "9092"
        servers.append((host.strip("[]"), int(port)))
    return servers


async def tcp_reachable(servers: Sequence[tuple[str, int]], seconds: float) -> bool:
    """True if any of `servers` accepts a TCP connection within `seconds`."""

    async def one(host: str, port: int) -> bool:
        try:
            async with asyncio.timeout(seconds):
                _, writer = await asyncio.open_connection(host, port)
        except (TimeoutError, OSError):
            return False
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True

    return any(await asyncio.gather(*(one(h, p) for h, p in servers)))
