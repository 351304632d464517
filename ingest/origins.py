"""Which web origins may send from the browser (`THREADLINE_CORS_ORIGINS`), as one pattern."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

#: `scheme://host[:port]`, the host possibly `*.`-prefixed (any subdomain).
_ORIGIN: Final = re.compile(
    r"^(https?)://(\*\.)?([a-z0-9-]+(\.[a-z0-9-]+)*|\[[0-9a-f:]+\])(:\d{1,5})?$"
)
#: Any page served from this machine (dev mode).
LOCAL: Final = r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?"


@dataclass(frozen=True)
class Origins:
    """Allowed origins: exact ones, subdomain wildcards, `*` (any), and in dev mode any local
    one."""

    patterns: tuple[str, ...]
    local: bool = False

    @classmethod
    def parse(cls, items: Iterable[str], *, local: bool = False) -> Origins:
        """Validate configured origins (lower-cased, trailing slash dropped); ValueError
        naming the first that is not `scheme://host[:port]`, `scheme://*.domain` or `*`."""
        patterns = []
        for raw in items:
            text = raw.strip().lower().rstrip("/")
            if not text:
                continue
            if text != "*" and not _ORIGIN.match(text):
                raise ValueError(
                    f"cors origin {raw.strip()!r} is not scheme://host[:port], "
                    "scheme://*.domain or *"
                )
            patterns.append(text)
        return cls(tuple(dict.fromkeys(patterns)), local)

    def regex(self) -> str | None:
        """One regular expression matching every allowed origin (None: none is)."""
        parts = [LOCAL] if self.local else []
        for pattern in self.patterns:
            if pattern == "*":
                return r".*"
            scheme, rest = pattern.split("://", 1)
            if rest.startswith("*."):
                parts.append(rf"{scheme}://([a-z0-9-]+\.)+{re.escape(rest[2:])}")
            else:
                parts.append(re.escape(pattern))
        return f"^({'|'.join(parts)})$" if parts else None

    def allows(self, origin: str) -> bool:
        """True when a page of `origin` may send."""
        regex = self.regex()
        return regex is not None and re.fullmatch(regex, origin.lower()) is not None
