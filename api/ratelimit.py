"""Rate limiting per API key: one token bucket per key in each API process."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from api import ApiError


class RateLimited(ApiError):
    """The key spent its request budget (429, with Retry-After in seconds)."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, retry_after: float) -> None:
        seconds = max(1, math.ceil(retry_after))
        super().__init__(
            f"too many requests for this API key: retry in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )


class TokenBucket:
    """`burst` tokens, refilled at `rate` per second; each request takes one."""

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = float(burst), now

    def take(self, now: float) -> float:
        """0 if a token was taken, else the seconds until one is available."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class RateLimiter:
    """Buckets by key name (the configured keys are few and fixed, so memory is bounded)."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """A rate of 0 turns limiting off."""
        return self.rate > 0

    def check(self, key_name: str) -> None:
        """Spend one token of `key_name`'s bucket or raise `RateLimited`."""
        if not self.enabled:
            return
        with self._lock:
            now = self.clock()
            bucket = self._buckets.get(key_name)
            if bucket is None:
                bucket = self._buckets[key_name] = TokenBucket(self.rate, self.burst, now)
            wait = bucket.take(now)
        if wait > 0:
            raise RateLimited(wait)


def document_rate_limit(app: FastAPI) -> None:
    """Add the 429 answer to the OpenAPI of every operation that takes an API key (those
    that document 401): the limit is checked with the key, whatever the route."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()  # FastAPI caches it: the 429s are added once, in place
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.get("responses", {})
                if "401" in responses and "429" not in responses:
                    responses["429"] = {
                        **responses["401"],
                        "description": "The key spent its request budget; retry later.",
                        "headers": {
                            "Retry-After": {
                                "description": "Seconds until a request is allowed again.",
                                "schema": {"type": "integer", "minimum": 1},
                            }
                        },
                    }
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
