"""The demo's contact centre through the real adapters' mappings, without a stack: each
synthetic customer's requests become canonical events, then the events the insight reads."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import orjson

from ingest.call_centre.connect import map_records
from ingest.chat.mapping import map_chat_events
from ingest.email.mapping import map_email
from ingest.store.receipts import map_receipts
from ingest.store.shopify import map_order
from ingest.surveys.mapping import map_responses
from ingest.web.mapping import map_batch
from profile_store.insights import surveys
from profile_store.insights.events import JourneyEvent, journey_event_of
from profile_store.insights.journeys import contributions, summarise
from schemas import CanonicalEvent
from services.demo import DEMO_ENV
from services.synthetic import native
from services.synthetic.population import life, requests

COMPANY_DOMAINS = tuple(DEMO_ENV["THREADLINE_COMPANY_DOMAINS"].split(","))
MAPPERS: dict[str, Callable[[Any, datetime, str], list[CanonicalEvent]]] = {
    native.SEGMENT: map_batch,
    native.CHAT: map_chat_events,
    native.RECEIPTS: map_receipts,
    native.CONNECT: map_records,
    native.SURVEYS: map_responses,
}


def canonical(request: native.Request, now: datetime) -> list[CanonicalEvent]:
    """The events the gateway publishes for `request` (its route's real mapping)."""
    if request.path == native.EMAIL:
        return map_email(request.body, now, company_domains=COMPANY_DOMAINS)
    if request.path == native.SHOPIFY:
        headers = dict(request.headers)
        order = orjson.loads(request.body)
        topic, shop = headers["X-Shopify-Topic"], headers["X-Shopify-Shop-Domain"]
        return [map_order(order, now, topic=topic, shop_domain=shop)]
    return MAPPERS[request.path](orjson.loads(request.body), now, "US")


def customer_events(seed: int, n: int, anchor: datetime, days: int) -> list[JourneyEvent]:
    """Customer `n`'s events as the insight reads them, in time order (one person: no
    stitching needed)."""
    events = [e for r in requests(life(seed, n, anchor, days)) for e in canonical(r, anchor)]
    events.sort(key=lambda e: (e.occurred_at, e.event_id))
    return [
        journey_event_of(
            str(n),
            e.event_id,
            e.channel.value,
            e.kind,
            e.occurred_at,
            e.attributes,
            [{"type": i.type, "value": i.value} for i in e.identifiers],
        )
        for e in events
    ]


def figures(
    seed: int, customers: int, anchor: datetime, days: int
) -> Iterator[tuple[str, dict[str, Any]]]:
    """("totals" | channel | journey, its summarised figures) over the demo's customers."""
    totals: dict[str, float] = defaultdict(float)
    per: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for n in range(customers):
        for (_d, channel, measure, detail), value in contributions(
            customer_events(seed, n, anchor, days), anchor
        ).items():
            if measure == "path_matters":
                continue
            totals[measure] += value
            per[channel][measure] += value
            if measure in surveys.MEASURES:
                per[f"journey:{detail}"][measure] += value
    yield "totals", summarise(totals)
    for key, measures in per.items():
        yield key, summarise(measures)
