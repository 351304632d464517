"""`threadline dev --demo` (`make demo`): a retailer's contact centre through the real adapters.

A few thousand customers over 90 days (`services.synthetic`), and the design's journey lived
by Maria and two others (`scripted`), are sent to the ingest gateway in each channel's native
format, in time order; once the worker has written them, the insight metrics and the
moments-of-truth signals are computed, and the stack's `insights` child keeps them current.

Deterministic and idempotent: the first load writes its parameters (the anchor time the 90
days end at, seed, size) to `demo.json` in the data folder; a later load sends exactly the
same records again, which the pipeline deduplicates by their source ids.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import orjson
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.demo import scripted
from services.demo.send import send_all, wait_written
from services.settings import DevSettings
from services.synthetic.native import Request
from services.synthetic.population import population, requests

__all__ = ["DEMO_ENV", "MARIA_PHONE", "DemoPlan", "load_demo", "run_demo"]

MARIA_PHONE: Final = scripted.MARIA_PHONE
#: Settings the demo needs in the stack's processes: the company's mail domain (its agents'
#: replies are `email_sent`).
DEMO_ENV: Final = {"THREADLINE_COMPANY_DOMAINS": "example-shop.io"}
PLAN_FILE: Final = "demo.json"


class DemoSettings(BaseSettings):
    """The demo's size (frozen, `THREADLINE_DEMO_` env prefix); used at the first load."""

    model_config = SettingsConfigDict(env_prefix="THREADLINE_DEMO_", frozen=True, extra="ignore")

    customers: int = Field(default=3000, ge=0, le=200_000)
    days: int = Field(default=90, ge=7, le=366)
    seed: int = 21


@dataclass(frozen=True)
class DemoPlan:
    """What a demo load sends: `customers` of `seed` over `days` days ending at `anchor`."""

    anchor: datetime
    seed: int
    customers: int
    days: int

    @classmethod
    def for_folder(cls, data_dir: Path | None) -> DemoPlan:
        """The plan stored in `data_dir` by the first load, else a new one (stored)."""
        path = data_dir / PLAN_FILE if data_dir is not None else None
        if path is not None and path.exists():
            raw = orjson.loads(path.read_bytes())
            anchor = datetime.fromisoformat(raw["anchor"])
            return cls(anchor, int(raw["seed"]), int(raw["customers"]), int(raw["days"]))
        s = DemoSettings()
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        plan = cls(now, s.seed, s.customers, s.days)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(orjson.dumps({**asdict(plan), "anchor": plan.anchor.isoformat()}))
        return plan

    def requests(self) -> list[Request]:
        """Every request, in time order (the scripted journeys end two days before `anchor`)."""
        items = population(self.seed, self.customers, self.anchor, self.days)
        return [*requests(items), *scripted.requests(self.anchor)]


def load_demo(ingest_url: str, data_dir: Path | None = None, progress: bool = False) -> int:
    """Send the demo of `data_dir`'s plan to the gateway; returns the requests accepted."""
    plan = DemoPlan.for_folder(data_dir)
    return send_all(ingest_url, plan.requests(), progress)


def run_demo(settings: DevSettings, bootstrap: str, database_url: str) -> None:
    """Load the demo into the running dev stack, wait until it is written, compute the
    insight, and say how long it took."""
    from profile_store.insights import refresh
    from profile_store.storage.engines import make_sync_engine
    from services.insights import InsightsSettings, run_signals

    began = time.monotonic()
    data_dir = Path(settings.data_dir)
    plan = DemoPlan.for_folder(data_dir)
    print(
        f"demo: {plan.customers:,} customers over {plan.days} days to "
        f"{plan.anchor:%Y-%m-%d %H:%M} UTC (seed {plan.seed}; {data_dir / PLAN_FILE})",
        flush=True,
    )
    sent = send_all(f"http://127.0.0.1:{settings.ingest_port}", plan.requests(), True)
    wait_written(bootstrap, settings.consumer_group)
    engine = make_sync_engine(database_url)
    try:
        result = refresh.refresh(engine)
    finally:
        engine.dispose()
    signals = run_signals(InsightsSettings(database_url=database_url, kafka_bootstrap=bootstrap))
    print(
        f"demo: {sent:,} requests, {result.events:,} events of {result.customers:,} customers "
        f"written and the insight computed ({signals['new']} moments of truth) in "
        f"{time.monotonic() - began:.0f} s; try the phone (415) 555-0132 and /insights",
        flush=True,
    )
