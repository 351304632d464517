"""`threadline insights`: refresh the journey metrics; evaluate the moments-of-truth rules and
deliver new signals to Kafka (`threadline.signals`) and optionally a webhook."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import Any

import httpx
import orjson
import structlog
from kafka import KafkaProducer
from pydantic import Field, HttpUrl, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from profile_store.insights import refresh, signal_store
from profile_store.insights.rules import RuleConfig
from profile_store.insights.signal_store import StoredSignal
from profile_store.storage.engines import make_sync_engine
from schemas import topics

log = structlog.get_logger()


class InsightsSettings(BaseSettings):
    """Refresh and signal delivery (frozen, `THREADLINE_` env prefix)."""

    model_config = SettingsConfigDict(env_prefix="THREADLINE_", frozen=True, extra="ignore")

    database_url: str
    kafka_bootstrap: str = "127.0.0.1:9092"
    #: JSON of `RuleConfig`, e.g. {"unanswered_email": {"after_hours": 12}}.
    signal_rules: str = "{}"
    #: Events since this many hours ago make a customer's timeline worth re-evaluating.
    signal_lookback_hours: float = Field(default=72, gt=0, le=24 * 90)
    signal_webhook_url: HttpUrl | None = None
    #: Sent as `Authorization: Bearer <token>` to the webhook when set.
    signal_webhook_token: SecretStr | None = None
    signal_webhook_timeout_s: float = Field(default=5.0, gt=0, le=60)
    signal_webhook_retries: int = Field(default=3, ge=0, le=10)
    #: `threadline insights run`: seconds between rounds (signals every round).
    insights_interval_s: float = Field(default=30, ge=0.5, le=3600)
    #: ...the metrics when events were written since the last refresh, and at least this often.
    insights_refresh_max_s: float = Field(default=900, ge=1, le=86400)

    @model_validator(mode="after")
    def _check(self) -> InsightsSettings:
        try:
            RuleConfig.model_validate_json(self.signal_rules)
        except ValidationError as exc:
            first = exc.errors(include_input=False, include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"]) or "rules"
            raise ValueError(f"THREADLINE_SIGNAL_RULES: {where}: {first['msg']}") from None
        return self

    @cached_property
    def rules(self) -> RuleConfig:
        """The parsed rules."""
        return RuleConfig.model_validate_json(self.signal_rules)


def publish(bootstrap: str, signals: list[StoredSignal]) -> list[int]:
    """Send to `threadline.signals` (acks=all), keyed by customer; ids of those acknowledged."""
    producer = KafkaProducer(
        bootstrap_servers=bootstrap.split(","),
        client_id="threadline-signals",
        acks="all",
        enable_idempotence=True,
        max_block_ms=10_000,
    )
    try:
        futures = [
            (
                s.id,
                producer.send(
                    topics.SIGNALS, key=s.customer_id.encode(), value=orjson.dumps(s.payload())
                ),
            )
            for s in signals
        ]
        producer.flush(timeout=30)
        return [sid for sid, fut in futures if fut.succeeded()]
    finally:
        producer.close(timeout=5)


def post_webhook(
    settings: InsightsSettings,
    signals: list[StoredSignal],
    sleep: Callable[[float], None] = time.sleep,
) -> list[int]:
    """POST each signal (JSON) with bounded retries on 5xx and transport errors; ids delivered."""
    assert settings.signal_webhook_url is not None
    headers = {"User-Agent": "threadline-signals"}
    if settings.signal_webhook_token is not None:
        headers["Authorization"] = f"Bearer {settings.signal_webhook_token.get_secret_value()}"
    done: list[int] = []
    with httpx.Client(timeout=settings.signal_webhook_timeout_s, headers=headers) as client:
        for s in signals:
            for attempt in range(settings.signal_webhook_retries + 1):
                try:
                    resp = client.post(str(settings.signal_webhook_url), json=s.payload())
                except httpx.HTTPError as exc:
                    log.warning("signal_webhook_error", error_type=type(exc).__name__)
                else:
                    if resp.is_success:
                        done.append(s.id)
                        break
                    log.warning("signal_webhook_refused", status=resp.status_code)
                    if resp.status_code < 500 and resp.status_code != 429:
                        break  # the receiver refuses it: retrying will not help
                if attempt < settings.signal_webhook_retries:
                    sleep(min(0.5 * 2**attempt, 8.0))
    return done


def run_signals(
    settings: InsightsSettings, as_of: datetime | None = None, scope_since: datetime | None = None
) -> dict[str, int]:
    """Evaluate the customers with events since `scope_since` (default: the lookback), store
    new signals of the lookback, deliver every undelivered one."""
    as_of = as_of or datetime.now(UTC)
    engine = make_sync_engine(settings.database_url)
    try:
        since = as_of - timedelta(hours=settings.signal_lookback_hours)
        new = signal_store.record_signals(engine, settings.rules, since, as_of, scope_since)
        published = hooked = 0
        while batch := signal_store.pending(engine, "published_at"):
            ids = publish(settings.kafka_bootstrap, batch)
            signal_store.mark_delivered(engine, "published_at", ids)
            published += len(ids)
            if len(ids) < len(batch):
                break  # the rest waits for the next run
        if settings.signal_webhook_url is not None:
            while batch := signal_store.pending(engine, "webhook_at"):
                ids = post_webhook(settings, batch)
                signal_store.mark_delivered(engine, "webhook_at", ids)
                hooked += len(ids)
                if len(ids) < len(batch):
                    break
    finally:
        engine.dispose()
    out = {"new": new, "published": published, "webhook": hooked}
    # A round that found and sent nothing is routine (every 30 s in the dev stack): debug.
    (log.info if any(out.values()) else log.debug)("signals_evaluated", **out)
    return out


def cmd_insights(args: argparse.Namespace) -> int:
    """Refresh the journey metrics, evaluate and deliver the moments-of-truth signals, or keep
    doing both (`run`, as `threadline dev` does)."""
    settings = InsightsSettings()
    if args.action == "run":
        from services.insight_rounds import run_rounds

        return run_rounds(settings)
    if args.action == "refresh":
        engine = make_sync_engine(settings.database_url)
        since = args.since
        if since is None and args.since_days is not None:
            since = datetime.now(UTC).date() - timedelta(days=args.since_days)
        try:
            result = refresh.refresh(engine, since=since)
        finally:
            engine.dispose()
        print(
            f"refreshed {result.customers} customers, {result.events} events "
            f"({result.rows} contributions) in {result.seconds:.1f} s"
        )
        return 0
    out = run_signals(settings)
    print(f"signals: {out['new']} new, {out['published']} published, {out['webhook']} webhook")
    return 0


def _days(value: str) -> int:
    days = int(value)
    if not 0 <= days <= 366:
        raise argparse.ArgumentTypeError("must be 0 to 366")
    return days


def add_parser(sub: Any) -> None:
    """Register `threadline insights refresh|signals` on the CLI's subparsers."""
    parser = sub.add_parser("insights", help=cmd_insights.__doc__)
    parser.add_argument("action", choices=["refresh", "signals", "run"])
    parser.add_argument(
        "--since",
        type=date.fromisoformat,
        help="refresh: only customers with events from DATE - 8 days (YYYY-MM-DD)",
    )
    parser.add_argument(
        "--since-days",
        type=_days,
        metavar="N",
        help="refresh: as --since with today (UTC) minus N days (for a schedule)",
    )
    parser.set_defaults(fn=cmd_insights)
