"""Write keys and their trust levels: `server` keys (backends, vendor webhooks) and public
`browser` keys (a website's JavaScript), each browser key with its verification secret.

`THREADLINE_WRITE_KEYS` holds them: comma-separated server keys, or a JSON list whose items
are a server key as a string or `{"key": ..., "trust": "server" | "browser",
"verification_secret": ...}`. Requests are matched against every key in constant time.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

DEV_WRITE_KEY: Final = "dev-write-key"
DEV_BROWSER_KEY: Final = "dev-browser-key"
DEV_VERIFICATION_SECRET: Final = "dev-verification-secret"  # noqa: S105 - dev mode only
#: Dev values a production gateway refuses to start with.
DEV_SECRETS: Final = frozenset({DEV_WRITE_KEY, DEV_BROWSER_KEY, DEV_VERIFICATION_SECRET})
#: Shortest verification secret outside dev mode: it is what stands between a public key and
#: a forged `user_hash`.
MIN_SECRET_CHARS: Final = 16


class KeyTrust(StrEnum):
    """Who holds a write key: the company's servers, or every visitor of its website."""

    SERVER = "server"
    BROWSER = "browser"


class WriteKeySpec(BaseModel):
    """One configured write key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: SecretStr = Field(min_length=1)
    trust: KeyTrust = KeyTrust.SERVER
    #: The secret a site's backend signs `context.user_hash` with (browser keys only).
    verification_secret: SecretStr | None = None

    @model_validator(mode="after")
    def _secret_for_browser_keys_only(self) -> WriteKeySpec:
        if self.verification_secret is not None and self.trust is not KeyTrust.BROWSER:
            raise ValueError("verification_secret is for browser keys only")
        return self

    @classmethod
    def parse(cls, item: Any) -> Any:
        """A plain string is a server key; anything else is validated as an object."""
        if isinstance(item, SecretStr):
            item = item.get_secret_value()
        return {"key": item.strip()} if isinstance(item, str) else item


def dev_keys() -> list[WriteKeySpec]:
    """The dev-mode keys: a server key and a browser key with its verification secret."""
    return [
        WriteKeySpec(key=SecretStr(DEV_WRITE_KEY)),
        WriteKeySpec(
            key=SecretStr(DEV_BROWSER_KEY),
            trust=KeyTrust.BROWSER,
            verification_secret=SecretStr(DEV_VERIFICATION_SECRET),
        ),
    ]


def production_problem(specs: Iterable[WriteKeySpec]) -> str | None:
    """Why `specs` cannot be used outside dev mode, or None."""
    for spec in specs:
        values = {spec.key.get_secret_value()}
        if spec.verification_secret is not None:
            secret = spec.verification_secret.get_secret_value()
            values.add(secret)
            if len(secret) < MIN_SECRET_CHARS:
                return f"a verification_secret must be at least {MIN_SECRET_CHARS} characters"
        if values & DEV_SECRETS:
            return "the dev write keys and verification secret are refused outside dev mode"
    return None


@dataclass(frozen=True)
class WriteKey:
    """A key a request presented and matched: its trust level and verification secret."""

    trust: KeyTrust
    secret: bytes | None = field(default=None, repr=False)
    #: The key itself (public for a browser key; never logged).
    value: bytes = field(default=b"", repr=False)

    @property
    def is_browser(self) -> bool:
        """A public key: what it sends is claimed, not vouched for, unless verified."""
        return self.trust is KeyTrust.BROWSER


class WriteKeys:
    """Every accepted key, matched in constant time against all of them."""

    def __init__(self, specs: Iterable[WriteKeySpec]) -> None:
        self._keys = tuple(
            WriteKey(
                s.trust,
                None
                if s.verification_secret is None
                else s.verification_secret.get_secret_value().encode(),
                s.key.get_secret_value().encode(),
            )
            for s in specs
        )

    def __iter__(self) -> Iterator[WriteKey]:
        """Every accepted key, configured ones first."""
        return iter(self._keys)

    def match(self, candidate: bytes | None) -> WriteKey | None:
        """The key `candidate` is, or None (no early exit on a match)."""
        if not candidate:
            return None
        found = None
        for key in self._keys:
            if hmac.compare_digest(candidate, key.value):
                found = key
        return found
