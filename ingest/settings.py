"""Configuration of the ingest gateway, from `THREADLINE_*` environment variables."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
import phonenumbers
from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ingest.keys import (
    DEV_WRITE_KEY,
    WriteKeys,
    WriteKeySpec,
    dev_keys,
    production_problem,
)
from ingest.origins import Origins
from runtime.kafka_security import KafkaSecurity

__all__ = ["DEV_WRITE_KEY", "IngestSettings"]


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
    write_keys: Annotated[list[WriteKeySpec], NoDecode] = Field(default_factory=list)
    #: Origins whose pages may send from the browser (CORS): exact origins such as
    #: `https://shop.example.com`, subdomain wildcards such as `https://*.example.com`, or `*`.
    #: Dev mode adds any http(s) origin on localhost or 127.0.0.1.
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    #: The gateway's public base URL (`https://collect.example.com`): what the browser SDKs'
    #: settings point them at. Unset: the URL the settings request came to.
    public_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("THREADLINE_INGEST_PUBLIC_URL", "THREADLINE_PUBLIC_URL"),
        pattern=r"^https?://[^/?#\s]+(/[^?#\s]*)?$",
    )
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
        items = _items(value)
        return value if items is None else tuple(v.lower().lstrip("@") for v in items)

    @field_validator("asterisk_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not an IANA time zone name like UTC or Europe/London") from None
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        items = _items(value)
        return value if items is None else Origins.parse(items).patterns

    @field_validator("write_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        """Accept a JSON list (of keys, or key objects) or a comma-separated string."""
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
            items = [
                WriteKeySpec.parse(v) for v in value if not (isinstance(v, str) and not v.strip())
            ]
            return items
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
        keys = [k.key.get_secret_value() for k in self.write_keys]
        if len(set(keys)) != len(keys):
            raise ValueError("write_keys holds the same key twice")
        if self.dev_mode:
            for host in (self.host, self.smtp_host, self.smtp_metrics_host):
                if not _is_loopback(host):
                    raise ValueError(f"dev mode binds to loopback only; host {host!r} is not")
        else:
            if self.dev_control_dir is not None:
                raise ValueError("dev_control_dir is for `threadline dev` (dev mode) only")
            if not keys:
                raise ValueError("write_keys is empty: set THREADLINE_WRITE_KEYS (or dev mode)")
            problem = production_problem(self.write_keys)
            if problem is not None:
                raise ValueError(problem)
        return self

    def accepted_write_keys(self) -> WriteKeys:
        """Every write key a request may present (the dev keys too, in dev mode only)."""
        configured = {k.key.get_secret_value() for k in self.write_keys}
        extra = [k for k in dev_keys() if k.key.get_secret_value() not in configured]
        return WriteKeys([*self.write_keys, *(extra if self.dev_mode else [])])

    def browser_origins(self) -> Origins:
        """The origins whose pages may send from the browser (any localhost one in dev mode)."""
        return Origins.parse(self.cors_origins, local=self.dev_mode)


def _is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _items(value: Any) -> list[str] | None:
    """A comma-separated string or a list as its non-blank items, stripped; None otherwise."""
    if isinstance(value, str):
        value = value.split(",")
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return None
