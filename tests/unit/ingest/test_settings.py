"""Fail-fast configuration of the ingest gateway."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from ingest import server
from ingest.keys import DEV_BROWSER_KEY
from ingest.settings import DEV_WRITE_KEY, IngestSettings


def keys_of(settings: IngestSettings) -> tuple[bytes, ...]:
    return tuple(k.value for k in settings.accepted_write_keys())


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import os

    for name in list(os.environ):
        if name.startswith("THREADLINE_"):
            monkeypatch.delenv(name)
    yield


def test_defaults() -> None:
    s = IngestSettings(write_keys=[SecretStr("k1")])
    assert (s.host, s.port, s.kafka_bootstrap) == ("127.0.0.1", 8001, "127.0.0.1:9092")
    assert s.default_region == "US" and s.publish_timeout_s == 10
    assert s.dev_mode is False
    assert keys_of(s) == (b"k1",)
    assert s.kafka_client_options() == {"security_protocol": "PLAINTEXT"}


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("alpha,beta", (b"alpha", b"beta")),
        (" alpha , ,beta ", (b"alpha", b"beta")),
        ('["alpha", "beta,gamma"]', (b"alpha", b"beta,gamma")),
        ("single", (b"single",)),
    ],
)
def test_write_keys_from_env(monkeypatch: pytest.MonkeyPatch, raw: str, want: tuple[bytes]) -> None:
    monkeypatch.setenv("THREADLINE_WRITE_KEYS", raw)
    assert keys_of(IngestSettings()) == want


def test_env_prefix_and_types(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREADLINE_WRITE_KEYS", "k")
    monkeypatch.setenv("THREADLINE_PORT", "9001")
    monkeypatch.setenv("THREADLINE_KAFKA_BOOTSTRAP", "kafka-0:9093,kafka-1:9093")
    monkeypatch.setenv("THREADLINE_DEFAULT_REGION", "gb")
    monkeypatch.setenv("THREADLINE_PUBLISH_TIMEOUT_S", "2.5")
    s = IngestSettings()
    assert (s.port, s.kafka_bootstrap) == (9001, "kafka-0:9093,kafka-1:9093")
    assert s.default_region == "GB" and s.publish_timeout_s == 2.5


def test_production_needs_write_keys() -> None:
    with pytest.raises(ValidationError, match="write_keys is empty"):
        IngestSettings()
    with pytest.raises(ValidationError, match="write_keys is empty"):
        IngestSettings(write_keys=" , ")


def test_production_refuses_the_dev_key() -> None:
    with pytest.raises(ValidationError, match="refused outside dev mode"):
        IngestSettings(write_keys=f"real,{DEV_WRITE_KEY}")


def test_dev_mode_accepts_the_dev_key_and_configured_ones() -> None:
    dev = (DEV_WRITE_KEY.encode(), DEV_BROWSER_KEY.encode())
    assert keys_of(IngestSettings(dev_mode=True)) == dev
    assert keys_of(IngestSettings(dev_mode=True, write_keys="mine")) == (b"mine", *dev)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.5", "::1", "[::1]", "localhost"])
def test_dev_mode_binds_loopback(host: str) -> None:
    assert IngestSettings(dev_mode=True, host=host).host == host


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.4", "example.com", ""])
def test_dev_mode_refuses_non_loopback_binds(host: str) -> None:
    with pytest.raises(ValidationError, match="loopback only"):
        IngestSettings(dev_mode=True, host=host)


def test_production_may_bind_anywhere() -> None:
    assert IngestSettings(host="0.0.0.0", write_keys="k").host == "0.0.0.0"


@pytest.mark.parametrize("region", ["XX", "USA", "", "1"])
def test_unknown_region_is_refused(region: str) -> None:
    with pytest.raises(ValidationError, match="default_region"):
        IngestSettings(write_keys="k", default_region=region)


@pytest.mark.parametrize(
    ("field", "value"), [("port", 70000), ("publish_timeout_s", 0), ("security_protocol", "TLS")]
)
def test_out_of_range_values(field: str, value: Any) -> None:
    with pytest.raises(ValidationError, match=field):
        IngestSettings(write_keys="k", **{field: value})


def test_sasl_needs_credentials_and_a_sasl_protocol() -> None:
    with pytest.raises(ValidationError, match="needs sasl_username"):
        IngestSettings(write_keys="k", security_protocol="SASL_SSL", sasl_mechanism="PLAIN")
    with pytest.raises(ValidationError, match="SASL_PLAINTEXT or SASL_SSL"):
        IngestSettings(write_keys="k", sasl_mechanism="PLAIN", sasl_username="u", sasl_password="p")
    s = IngestSettings(
        write_keys="k",
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="svc",
        sasl_password="s3cret",
        ssl_cafile="/etc/ca.pem",
    )
    assert s.kafka_client_options() == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "svc",
        "sasl_plain_password": "s3cret",
        "ssl_cafile": "/etc/ca.pem",
    }


def test_settings_are_frozen_and_secrets_hidden() -> None:
    s = IngestSettings(write_keys="very-secret-key", sasl_password="pw-secret")
    with pytest.raises(ValidationError):
        s.port = 1  # type: ignore[misc]
    assert "very-secret-key" not in repr(s) and "pw-secret" not in repr(s)


def test_server_exits_2_on_bad_config_without_echoing_secrets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("THREADLINE_WRITE_KEYS", f"leaky-key,{DEV_WRITE_KEY}")
    monkeypatch.setenv("THREADLINE_PORT", "not-a-port")
    with pytest.raises(SystemExit) as exit_:
        server.main()
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "invalid configuration" in err and "THREADLINE_INGEST_PORT" in err
    assert "leaky-key" not in err
