"""The demo's contact centre: `customers` people over `days` days, turned into the requests
the channel systems would have sent, in time order, batched as they batch."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from services.synthetic import native
from services.synthetic.contact_centre import EPISODES, KINDS, Item, Life, pick
from services.synthetic.people import mix, person
from services.synthetic.service import serve


def life(seed: int, n: int, anchor: datetime, days: int) -> list[Item]:
    """Everything customer `n` of `seed` did in the `days` days before `anchor`."""
    rng = random.Random(mix(seed, n, 21))
    me = Life(person(seed, n), rng, anchor, anchor - timedelta(days=days), f"cc-{seed}-{n}")
    starts = sorted(rng.uniform(0, days) for _ in range(pick(rng, EPISODES)))
    actions: dict[str, Callable[[datetime], Any]] = {
        "buy_online": me.buy_online,
        "buy_store": me.buy_store,
        "browse": me.browse,
        "service": lambda t: serve(me, t),
    }
    midnight = anchor.replace(hour=0, minute=0, second=0, microsecond=0)
    for offset in starts:
        hour = min(22.0, max(7.0, rng.gauss(14, 3.5)))
        at = midnight - timedelta(days=days - int(offset)) + timedelta(hours=hour)
        actions[pick(rng, KINDS)](at)
    return me.items


def requests(items: list[Item]) -> Iterator[native.Request]:
    """The requests that carry `items`, in time order: batched routes are cut when full and
    at the end of every day (a day's messages are not held back); mail and Shopify webhooks
    go one by one."""
    buffers: dict[str, list[Any]] = {}
    day = None
    for item in sorted(items, key=lambda i: i.at):
        if item.at.date() != day:
            day = item.at.date()
            yield from _flush(buffers)
        if isinstance(item.payload, native.Request):
            yield item.payload
            continue
        buf = buffers.setdefault(item.path, [])
        buf.append(item.payload)
        if len(buf) >= native.BATCH[item.path]:
            yield native.batched(item.path, buffers.pop(item.path))
    yield from _flush(buffers)


def _flush(buffers: dict[str, list[Any]]) -> Iterator[native.Request]:
    for path in list(buffers):
        yield native.batched(path, buffers.pop(path))


def population(seed: int, customers: int, anchor: datetime, days: int) -> list[Item]:
    """Every customer's items."""
    return [item for n in range(customers) for item in life(seed, n, anchor, days)]
