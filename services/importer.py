"""`threadline import FORMAT FILE`: bulk-load native files through the ingest gateway.

Files go through the same routes the live systems use (same validation, same broker
acknowledgement), in chunks. A refused chunk is split until the bad records are isolated,
so one bad row costs only itself; the summary says which rows were refused and why.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import mailbox
import os
import sys
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import orjson

Record = bytes
Wrap = Callable[[Sequence[Record]], bytes]


def _json_list(key: str | None) -> Wrap:
    def wrap(chunk: Sequence[Record]) -> bytes:
        items = b"[" + b",".join(chunk) + b"]"
        return b'{"' + key.encode() + b'":' + items + b"}" if key else items

    return wrap


def _lines(chunk: Sequence[Record]) -> bytes:
    return b"\n".join(chunk) + b"\n"


@dataclass(frozen=True)
class Format:
    """Where a format goes on the gateway and how records are chunked into one request."""

    path: str
    content_type: str
    wrap: Wrap
    chunk: int
    headers: tuple[tuple[str, str], ...] = ()


FORMATS: dict[str, Format] = {
    "segment": Format("/v1/batch", "application/json", _json_list("batch"), 200),
    "chat-events": Format("/chat/events", "application/json", _json_list("events"), 200),
    "receipts": Format("/store/receipts", "application/json", _json_list(None), 200),
    "surveys": Format("/surveys/responses", "application/json", _json_list("responses"), 200),
    "amazon-connect": Format("/call-centre/amazon-connect", "application/x-ndjson", _lines, 200),
    "asterisk-cdr": Format("/call-centre/asterisk-cdr", "text/csv", _lines, 500),
    "shopify-orders": Format(
        "/store/shopify/orders",
        "application/json",
        lambda chunk: chunk[0],
        1,
        (("X-Shopify-Topic", "orders/updated"),),
    ),
    "email": Format("/email/inbound", "message/rfc822", lambda chunk: chunk[0], 1),
}


def read_records(fmt: str, path: Path) -> list[Record]:
    """Split a file into records: JSON array / NDJSON / one object, CSV rows, mbox or .eml."""
    raw = path.read_bytes()
    if fmt == "email":
        if raw.startswith(b"From "):
            return [bytes(m.as_bytes()) for m in mailbox.mbox(str(path), create=False)]
        return [raw]
    if fmt == "asterisk-cdr":
        rows = csv.reader(io.StringIO(raw.decode("utf-8", errors="replace")))
        out = []
        for row in rows:
            if row:
                buffer = io.StringIO()
                csv.writer(buffer, lineterminator="").writerow(row)
                out.append(buffer.getvalue().encode())
        return out
    text = raw.strip()
    if text.startswith(b"["):
        return [orjson.dumps(item) for item in orjson.loads(text)]
    return [line.strip() for line in text.splitlines() if line.strip()]


@dataclass
class Summary:
    """What happened to each record."""

    total: int
    accepted: int = 0
    rejected: dict[int, str] = field(default_factory=dict)

    def report(self, out: TextIO) -> None:
        """Counts, then the reasons grouped, then the first refused record numbers."""
        print(
            f"\n{self.accepted} accepted, {len(self.rejected)} rejected of {self.total}", file=out
        )
        for reason, count in Counter(self.rejected.values()).most_common(10):
            print(f"  {count:>6} x {reason}", file=out)
        if self.rejected:
            first = ", ".join(str(n + 1) for n in sorted(self.rejected)[:20])
            print(f"  rejected records (1-based): {first}", file=out)


class GatewayUnavailable(Exception):
    """The gateway or the broker behind it did not accept a request; stop, report progress."""


@dataclass
class Importer:
    """Posts chunks to the gateway, bisecting refused ones."""

    gateway: str
    write_key: str
    fmt: Format
    progress: TextIO | None = sys.stderr
    #: Signs Shopify bodies when the gateway verifies them (THREADLINE_SHOPIFY_WEBHOOK_SECRET).
    shopify_secret: str | None = None

    def _post(self, chunk: Sequence[Record]) -> tuple[int, str]:
        auth = base64.b64encode(f"{self.write_key}:".encode()).decode()
        request = urllib.request.Request(  # noqa: S310 - operator-given gateway URL
            self.gateway.rstrip("/") + self.fmt.path,
            data=self.fmt.wrap(chunk),
            method="POST",
            headers={"Content-Type": self.fmt.content_type, "Authorization": f"Basic {auth}"},
        )
        for name, value in self.fmt.headers:
            request.add_header(name, value)
        if self.shopify_secret and self.fmt.path == FORMATS["shopify-orders"].path:
            assert request.data is not None and isinstance(request.data, bytes)
            digest = hmac.new(self.shopify_secret.encode(), request.data, hashlib.sha256).digest()
            request.add_header("X-Shopify-Hmac-Sha256", base64.b64encode(digest).decode())
        try:
            with urllib.request.urlopen(request, timeout=60) as resp:  # noqa: S310
                return resp.status, ""
        except urllib.error.HTTPError as exc:
            body = exc.read()
            try:
                message = str(orjson.loads(body)["error"]["message"])
            except (orjson.JSONDecodeError, KeyError, TypeError):
                message = body[:200].decode(errors="replace")
            return exc.code, message
        except OSError as exc:
            raise GatewayUnavailable(f"gateway unreachable: {exc}") from None

    def _send(self, records: Sequence[Record], first: int, summary: Summary) -> None:
        status, message = self._post(records)
        if status < 300:
            summary.accepted += len(records)
        elif status in (401, 403):
            raise GatewayUnavailable(f"gateway refused the write key ({status}: {message})")
        elif status >= 500 or status == 429:
            raise GatewayUnavailable(f"gateway answered {status}: {message}")
        elif len(records) == 1:
            summary.rejected[first] = message or f"HTTP {status}"
        else:
            mid = len(records) // 2
            self._send(records[:mid], first, summary)
            self._send(records[mid:], first + mid, summary)

    def run(self, records: Sequence[Record]) -> Summary:
        """Send every record; raises GatewayUnavailable (with progress kept) if it must stop."""
        summary = Summary(total=len(records))
        for start in _chunks(len(records), self.fmt.chunk):
            self._send(records[start : start + self.fmt.chunk], start, summary)
            self._show(summary)
        return summary

    def _show(self, summary: Summary) -> None:
        if self.progress is None:
            return
        done = summary.accepted + len(summary.rejected)
        width = 30
        filled = width * done // max(summary.total, 1)
        bar = "#" * filled + "." * (width - filled)
        print(
            f"\r[{bar}] {done}/{summary.total}  accepted {summary.accepted}  "
            f"rejected {len(summary.rejected)}",
            end="",
            file=self.progress,
            flush=True,
        )


def _chunks(total: int, size: int) -> Iterator[int]:
    return iter(range(0, total, size))


def run_import(fmt: str, path: Path, gateway: str, write_key: str, out: Any = sys.stderr) -> int:
    """CLI body: 0 all accepted, 1 some rejected, 3 gateway unavailable (progress reported)."""
    secret = os.environ.get("THREADLINE_SHOPIFY_WEBHOOK_SECRET") or None
    importer = Importer(gateway, write_key, FORMATS[fmt], progress=out, shopify_secret=secret)
    records = read_records(fmt, path)
    summary = Summary(total=len(records))
    try:
        summary = importer.run(records)
    except GatewayUnavailable as exc:
        print(f"\nstopped: {exc}", file=out)
        return 3
    summary.report(out)
    return 1 if summary.rejected else 0
