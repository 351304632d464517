"""Token buckets per API key, with a fake clock (no I/O, no sleeping)."""

from __future__ import annotations

import pytest

from api.ratelimit import RateLimited, RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refill_at_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock)
    for _ in range(3):
        limiter.check("desk")
    with pytest.raises(RateLimited) as info:
        limiter.check("desk")
    assert info.value.status_code == 429 and info.value.headers == {"Retry-After": "1"}
    clock.now += 0.5  # one token back at 2 per second
    limiter.check("desk")
    with pytest.raises(RateLimited):
        limiter.check("desk")
    clock.now += 60  # never more than the burst
    for _ in range(3):
        limiter.check("desk")
    with pytest.raises(RateLimited):
        limiter.check("desk")


def test_keys_have_separate_buckets_and_rate_zero_disables() -> None:
    limiter = RateLimiter(rate=1.0, burst=1, clock=Clock())
    limiter.check("a")
    limiter.check("b")
    with pytest.raises(RateLimited) as info:
        limiter.check("a")
    assert info.value.headers["Retry-After"] == "1"
    off = RateLimiter(rate=0.0, burst=1, clock=Clock())
    for _ in range(100):
        off.check("a")


def test_retry_after_rounds_up_to_whole_seconds() -> None:
    limiter = RateLimiter(rate=0.1, burst=1, clock=Clock())
    limiter.check("a")
    with pytest.raises(RateLimited) as info:
        limiter.check("a")
    assert info.value.headers["Retry-After"] == "10"
