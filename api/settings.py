"""API configuration from `THREADLINE_*` environment variables, checked at start (fail fast)."""

from __future__ import annotations

import hashlib
import ipaddress
from functools import cached_property
from typing import Final, Literal

import phonenumbers
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from profile_store.domain.identity_rules import IdentityConfigError
from profile_store.domain.stitching_config import StitchingConfig
from profile_store.privacy.tombstones import TombstoneConfigError, resolve_salt
from profile_store.storage.engines import check_database_url
from schemas.screen_pops import AGENT_NAME_PATTERN

Role = Literal["agent", "admin"]


def hash_key(key: str) -> str:
    """The hex sha256 of an API key: what the configuration stores instead of the key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


#: name, role, key. Added in dev mode, refused (by hash) everywhere else.
DEV_KEYS: Final[tuple[tuple[str, Role, str], ...]] = (
    ("dev-agent", "agent", "dev-agent-key"),
    ("dev-admin", "admin", "dev-admin-key"),
)
DEV_KEY_HASHES: Final = frozenset(hash_key(key) for _, _, key in DEV_KEYS)
#: An API key's name is the agent's name (screen pops are addressed to it).
KEY_NAME_PATTERN: Final = AGENT_NAME_PATTERN


class ApiKey(BaseModel):
    """One configured API key: who it is, what it may do, and the sha256 of the secret."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=KEY_NAME_PATTERN)
    role: Role
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$", description="Hex sha256 of the key.")

    @field_validator("sha256")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()


def parse_bootstrap(bootstrap: str) -> tuple[tuple[str, int], ...]:
    """`host:port[,host:port...]` (IPv6 as `[::1]:9092`) as (host, port) pairs, or ValueError."""
    servers = []
    for item in (part.strip() for part in bootstrap.split(",")):
        if not item:
            continue
        host, sep, port_text = item.rpartition(":")
        host = host.removeprefix("[").removesuffix("]")
        if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError("kafka_bootstrap must be host:port[,host:port...]")
        servers.append((host, int(port_text)))
    if not servers:
        raise ValueError("kafka_bootstrap must name at least one host:port")
    return tuple(servers)


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback IP addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ApiSettings(BaseSettings):
    """Settings of the unified view API (`THREADLINE_` prefix; keys as JSON in `API_KEYS`)."""

    model_config = SettingsConfigDict(
        env_prefix="THREADLINE_", frozen=True, extra="ignore", populate_by_name=True
    )

    # THREADLINE_API_HOST / _API_PORT win over the generic names, so one shared environment
    # can also configure the ingest gateway's host and port.
    host: str = Field(
        default="127.0.0.1",
        min_length=1,
        validation_alias=AliasChoices("THREADLINE_API_HOST", "THREADLINE_HOST"),
    )
    port: int = Field(
        default=8000,
        ge=1,
        le=65535,
        validation_alias=AliasChoices("THREADLINE_API_PORT", "THREADLINE_PORT"),
    )
    database_url: SecretStr | None = None
    kafka_bootstrap: str = "127.0.0.1:9092"
    dev_mode: bool = False
    #: Identity rules and trait source priorities (the worker's, for admin unmerge/merge).
    identity_rules: str = ""
    api_keys: tuple[ApiKey, ...] = ()
    default_region: str = "US"
    #: Connections per pool: the SQLAlchemy engine's, and the agent reads' (psycopg) pool.
    db_pool_size: int = Field(default=5, ge=1, le=100)
    db_wait: float = Field(
        default=2.0,
        gt=0,
        le=60,
        description="Seconds an agent read waits for a pooled connection before answering 503.",
    )
    readiness_timeout: float = Field(default=1.0, gt=0, le=30, description="Seconds per check.")
    stream_poll_interval: float = Field(
        default=1.0, ge=0.05, le=30, description="Seconds between a live stream's checks."
    )
    stream_heartbeat: float = Field(
        default=15.0, ge=1, le=300, description="Seconds between keep-alive comments."
    )
    max_streams: int = Field(default=200, ge=1, le=10_000, description="Live streams per process.")
    screen_pop_poll_interval: float = Field(
        default=0.2, ge=0.05, le=5, description="Seconds between a process's checks for pops."
    )
    screen_pop_max_age_s: float = Field(
        default=120.0,
        ge=5,
        le=3600,
        description="A pop older than this (from its ring) is not shown: a console opened "
        "during the call still gets it, a backlog never pops old calls.",
    )
    #: Secret salt of erasure tombstones; required outside dev mode (dev has a fixed one).
    erasure_salt: SecretStr | None = None
    #: Token bucket per API key: sustained requests per second and burst size (0 disables).
    rate_limit_per_s: float = Field(default=50.0, ge=0, le=100_000)
    rate_limit_burst: int = Field(default=200, ge=1, le=1_000_000)
    #: Largest request body any route accepts (413 beyond).
    max_request_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        region = value.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError("default_region must be a region code phonenumbers knows, e.g. US")
        return region

    @field_validator("kafka_bootstrap")
    @classmethod
    def _bootstrap(cls, value: str) -> str:
        parse_bootstrap(value)
        return value.strip()

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            check_database_url(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _fail_fast(self) -> ApiSettings:
        try:
            StitchingConfig.parse(self.identity_rules)
        except IdentityConfigError as exc:
            raise ValueError(f"identity_rules: {exc}") from exc
        names = [k.name for k in self.api_keys]
        if len(set(names)) != len(names):
            raise ValueError("api_keys names must be unique")
        if len({k.sha256 for k in self.api_keys}) != len(self.api_keys):
            raise ValueError("api_keys must not repeat a key")
        if self.dev_mode:
            if not is_loopback(self.host):
                raise ValueError("dev mode binds to loopback only: set host to 127.0.0.1")
            return self._check_salt()
        if not self.api_keys:
            raise ValueError("api_keys is empty: set THREADLINE_API_KEYS (or use dev mode)")
        if any(k.sha256 in DEV_KEY_HASHES for k in self.api_keys):
            raise ValueError("api_keys contains a dev key, which is refused outside dev mode")
        if self.database_url is None:
            raise ValueError("database_url is required: set THREADLINE_DATABASE_URL")
        return self._check_salt()

    def _check_salt(self) -> ApiSettings:
        try:
            self.salt_bytes()
        except TombstoneConfigError as exc:
            raise ValueError(str(exc)) from None
        return self

    @cached_property
    def stitching(self) -> StitchingConfig:
        """The parsed identity and traits rules."""
        return StitchingConfig.parse(self.identity_rules)

    @property
    def bootstrap_servers(self) -> tuple[tuple[str, int], ...]:
        """The Kafka bootstrap servers as (host, port) pairs."""
        return parse_bootstrap(self.kafka_bootstrap)

    def salt_bytes(self) -> bytes:
        """The erasure salt (the dev salt only in dev mode)."""
        secret = self.erasure_salt.get_secret_value() if self.erasure_salt else None
        return resolve_salt(secret, self.dev_mode)

    def effective_api_keys(self) -> tuple[ApiKey, ...]:
        """The configured keys, plus the dev keys in dev mode."""
        if not self.dev_mode:
            return self.api_keys
        held = {k.sha256 for k in self.api_keys}
        dev = tuple(
            ApiKey(name=name, role=role, sha256=hash_key(key))
            for name, role, key in DEV_KEYS
            if hash_key(key) not in held
        )
        return self.api_keys + dev
