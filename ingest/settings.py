"""Configuration of the ingest gateway, from `THREADLINE_*` environment variables."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
import phonenumbers
from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from runtime.kafka_security import KafkaSecurity

DEV_WRITE_KEY: Final = "dev-write-key"


class IngestSettings(BaseSettings, KafkaSecurity):
    """Ingest gateway settings; invalid or unsafe combinations fail at construction."""

    model_config = SettingsConfigDict(
        env_prefix="THREADLINE_", frozen=True, extra="ignore", populate_by_name=True
    )

    # THREADLINE_INGEST_HOST / _INGEST_PORT win over the generic names (as for the API).
    host: str = Field(
        default="127.0.0.1",
        validation_alias=AliasChoices("THREADLINE_INGEST_HOST", "THREADLINE_HOST"),
    )
    port: int = Field(
        default=8001,
        ge=0,
        le=65535,
        validation_alias=AliasChoices("THREADLINE_INGEST_PORT", "THREADLINE_PORT"),
    )
    kafka_bootstrap: str = Field(default="127.0.0.1:9092", min_length=1)
    dev_mode: bool = False
    write_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    default_region: str = "US"
    publish_timeout_s: float = Field(default=10.0, gt=0, le=300)
    # Channel adapters. Unset secrets: the signed webhook routes answer 503 outside dev mode.
    twilio_auth_token: SecretStr | None = None
    #: Public base URL Twilio calls (behind a proxy the request URL differs), for signatures.
    twilio_webhook_base_url: str | None = None
    shopify_webhook_secret: SecretStr | None = None
    #: Delighted signs webhooks with the project's API key (X-Delighted-Webhook-Signature).
    delighted_webhook_secret: SecretStr | None = None
    typeform_webhook_secret: SecretStr | None = None
    mailgun_webhook_signing_key: SecretStr | None = None
    #: Mail from these domains is the company writing to customers (`email_sent`).
    company_domains: Annotated[tuple[str, ...], NoDecode] = ()
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=2525, ge=0, le=65535)
    #: The SMTP role's /healthz, /readyz and /metrics endpoint (port 0 disables it).
    smtp_metrics_host: str = "127.0.0.1"
    smtp_metrics_port: int = Field(default=9102, ge=0, le=65535)
    email_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=50 * 1024 * 1024)
    #: IANA zone the Asterisk CDR times are written in (Master.csv has no offset).
    asterisk_timezone: str = "UTC"
    #: Set by `threadline dev` only: where the supervisor and this process signal a broker
    #: switch-over (see `ingest.devcontrol`).
    dev_control_dir: Path | None = None

    @field_validator("company_domains", mode="before")
    @classmethod
    def _split_domains(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple):
            return tuple(str(v).strip().lower().lstrip("@") for v in value if str(v).strip())
        return value

    @field_validator("asterisk_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not an IANA time zone name like UTC or Europe/London") from None
        return value

    @field_validator("write_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        """Accept a JSON list or a comma-separated string; drop blanks."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    value = orjson.loads(text)
                except orjson.JSONDecodeError:
                    raise ValueError("write_keys is not a valid JSON list") from None
            else:
                value = text.split(",")
        if isinstance(value, list | tuple):
            return [_strip(v) for v in value if not (isinstance(v, str) and not v.strip())]
        return value

    @field_validator("default_region", mode="before")
    @classmethod
    def _known_region(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().upper()
            if value not in phonenumbers.SUPPORTED_REGIONS:
                raise ValueError("not a region phonenumbers supports (ISO 3166 code like US, GB)")
        return value

    @model_validator(mode="after")
    def _fail_fast(self) -> IngestSettings:
        keys = {k.get_secret_value() for k in self.write_keys}
        if self.dev_mode:
            for host in (self.host, self.smtp_host, self.smtp_metrics_host):
                if not _is_loopback(host):
                    raise ValueError(f"dev mode binds to loopback only; host {host!r} is not")
        else:
            if self.dev_control_dir is not None:
                raise ValueError("dev_control_dir is for `threadline dev` (dev mode) only")
            if not keys:
                raise ValueError("write_keys is empty: set THREADLINE_WRITE_KEYS (or dev mode)")
            if DEV_WRITE_KEY in keys:
                raise ValueError(f"the dev key {DEV_WRITE_KEY!r} is refused outside dev mode")
        return self

    def accepted_write_keys(self) -> tuple[bytes, ...]:
        """Every write key a request may present (the dev key too, in dev mode only)."""
        keys = [k.get_secret_value().encode() for k in self.write_keys]
        if self.dev_mode and DEV_WRITE_KEY.encode() not in keys:
            keys.append(DEV_WRITE_KEY.encode())
        return tuple(keys)


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
