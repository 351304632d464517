"""Settings of the stream worker and of the dev stack (frozen, `THREADLINE_` env prefix)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from profile_store.domain.identity_rules import IdentityConfigError
from profile_store.domain.stitching_config import StitchingConfig
from profile_store.privacy.tombstones import TombstoneConfigError, TombstonePolicy, resolve_salt
from runtime.kafka_security import KafkaSecurity

_CONFIG = SettingsConfigDict(env_prefix="THREADLINE_", frozen=True, extra="ignore")


class WorkerSettings(BaseSettings, KafkaSecurity):
    """The Faust stitching worker."""

    model_config = _CONFIG

    kafka_bootstrap: str = "127.0.0.1:9092"
    database_url: str | None = None
    consumer_group: str = "threadline-stitcher"
    partitions: int = Field(default=8, ge=1, le=1024)
    replication_factor: int = Field(default=1, ge=1, le=7)
    batch_size: int = Field(default=500, ge=1, le=10_000)
    #: Longest wait to fill a batch. Under load batches fill while the previous one is written,
    #: so this only bounds how long a quiet partition's events wait (freshness).
    batch_within_s: float = Field(default=0.15, gt=0, le=30)
    drain_timeout_s: float = Field(default=25.0, gt=0, le=300)
    #: Longest time between offset commits (Faust's `broker_commit_interval`).
    commit_interval_s: float = Field(default=2.8, gt=0, le=60)
    #: `threadline dev` only: wait for this file before connecting (a standby replacement).
    dev_start_gate: Path | None = None
    db_pool_size: int = Field(default=4, ge=1, le=64)
    fetch_max_wait_ms: int = Field(default=100, ge=1, le=10_000)
    session_timeout_s: float = Field(default=10.0, ge=1, le=300)
    heartbeat_interval_s: float = Field(default=2.0, gt=0, le=60)
    rebalance_timeout_s: float = Field(default=20.0, ge=1, le=600)
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=9101, ge=0, le=65535)
    #: Identity rules and trait source priorities: inline JSON or `@/path/rules.json`.
    identity_rules: str = ""
    dev_mode: bool = False
    #: Salt of erasure tombstones (the API's): required outside dev mode.
    erasure_salt: SecretStr | None = None
    #: `drop` every event of an erased person, or admit one with explicit new consent.
    erasure_policy: TombstonePolicy = "drop"

    @model_validator(mode="after")
    def _check(self) -> WorkerSettings:
        if not self.database_url:
            raise ValueError("THREADLINE_DATABASE_URL is required")
        if self.dev_start_gate is not None and not self.dev_mode:
            raise ValueError("THREADLINE_DEV_START_GATE is for `threadline dev` only")
        try:
            StitchingConfig.parse(self.identity_rules)
        except IdentityConfigError as exc:
            raise ValueError(f"THREADLINE_IDENTITY_RULES: {exc}") from exc
        try:
            self.salt_bytes()
        except TombstoneConfigError as exc:
            raise ValueError(f"THREADLINE_ERASURE_SALT: {exc}") from None
        if self.heartbeat_interval_s * 3 > self.session_timeout_s:
            raise ValueError("heartbeat_interval_s must be at most a third of session_timeout_s")
        return self

    @cached_property
    def stitching(self) -> StitchingConfig:
        """The parsed identity and traits rules."""
        return StitchingConfig.parse(self.identity_rules)

    def salt_bytes(self) -> bytes:
        """The erasure salt (the dev salt only in dev mode)."""
        secret = self.erasure_salt.get_secret_value() if self.erasure_salt else None
        return resolve_salt(secret, self.dev_mode)

    @property
    def dsn(self) -> str:
        """The database URL (validated as present)."""
        assert self.database_url is not None
        return self.database_url


class DevSettings(BaseSettings):
    """`threadline dev`: the embedded stack, where its data lives, how it is supervised."""

    model_config = _CONFIG

    data_dir: Path = Path(".threadline")
    kafka_bootstrap: str | None = None
    database_url: str | None = None
    broker_port: int = Field(default=9092, ge=1, le=65535)
    api_port: int = Field(default=8000, ge=1, le=65535)
    ingest_port: int = Field(default=8001, ge=1, le=65535)
    smtp_port: int = Field(default=2525, ge=1, le=65535)
    partitions: int = Field(default=4, ge=1, le=64)
    consumer_group: str = "threadline-stitcher"
    #: Replace the embedded broker once it holds this much memory (it never frees consumed
    #: records); writes pause for a moment meanwhile. 0 never replaces it.
    broker_recycle_mb: int = Field(default=256, ge=0, le=65536)
    #: On Ctrl-C, how long the worker may keep writing what the broker holds; the rest is
    #: saved to the spool folder and written at the next start.
    stop_drain_s: float = Field(default=3.0, ge=0, le=60)
    #: How long the stack may take to become ready (worker joined, gateway and API ready).
    start_timeout_s: float = Field(default=120.0, gt=0, le=900)


class LogSettings(BaseSettings):
    """Logging of every process the CLI starts."""

    model_config = _CONFIG

    log_level: str = Field(default="INFO", pattern=r"^(?i:debug|info|warning|error|critical)$")
    log_json: bool = True


class MigrateSettings(BaseSettings, KafkaSecurity):
    """`threadline migrate`: database schema and Kafka topics."""

    model_config = _CONFIG

    database_url: str
    kafka_bootstrap: str | None = "127.0.0.1:9092"
    partitions: int = Field(default=8, ge=1, le=1024)
    replication_factor: int = Field(default=1, ge=1, le=7)
    #: How long to wait for PostgreSQL and Kafka to answer before giving up (exit 3).
    startup_timeout_s: float = Field(default=120.0, ge=0, le=3600)
