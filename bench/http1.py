"""A minimal keep-alive HTTP/1.1 GET client for load generation.

httpx costs about 3.5 ms of CPU per request and its pool scans every queued request on
each hand-out, so an open-loop backlog makes the load generator, not the API, the bottleneck.
This client keeps one connection per sender task and parses only status and Content-Length.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlencode, urlsplit

from bench import BenchError


class Connection:
    """One keep-alive connection to `base_url` (http only), reconnecting when closed."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.head = f"Host: {self.host}:{self.port}\r\n{extra}\r\n"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str, params: dict[str, str] | None = None) -> tuple[int, bytes]:
        """GET `path`; returns (status, body)."""
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        target = f"{path}?{urlencode(params)}" if params else path
        self.writer.write(f"GET {target} HTTP/1.1\r\n{self.head}".encode())
        try:
            status_line = await self.reader.readline()
            status, length, close = int(status_line.split()[1]), 0, False
            while (line := await self.reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == "transfer-encoding":
                    raise BenchError("chunked responses are not supported by this client")
                elif name == "connection" and value.strip().lower() == "close":
                    close = True
            body = await self.reader.readexactly(length) if length else b""
        except (IndexError, ValueError, asyncio.IncompleteReadError) as exc:
            await self.close()
            raise BenchError(f"bad HTTP response: {type(exc).__name__}") from None
        if close:
            await self.close()
        return status, body

    async def close(self) -> None:
        """Close the connection (the next `get` reconnects)."""
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None
