"""ApiSettings fails fast on unsafe or incomplete configuration (no I/O)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from api.server import EXIT_CONFIG, load_settings
from api.settings import (
    DEV_KEY_HASHES,
    ApiKey,
    ApiSettings,
    hash_key,
    is_loopback,
    parse_bootstrap,
)
from profile_store.privacy.tombstones import DEV_SALT

DB = "postgresql://threadline:pw@db.internal:5432/threadline"
PROD_KEY = {"name": "desk", "role": "agent", "sha256": hash_key("prod-secret")}
SALT = "a-long-secret-erasure-salt"


@pytest.fixture(autouse=True)
def no_threadline_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read the process environment: start every test from a clean one."""
    import os

    for name in list(os.environ):
        if name.upper().startswith("THREADLINE_"):
            monkeypatch.delenv(name)


def prod(**overrides: Any) -> ApiSettings:
    values: dict[str, Any] = {
        "database_url": DB,
        "api_keys": [PROD_KEY],
        "erasure_salt": SALT,
        **overrides,
    }
    return ApiSettings(**values)


def test_production_defaults() -> None:
    settings = prod()
    assert (settings.host, settings.port, settings.default_region) == ("127.0.0.1", 8000, "US")
    assert settings.effective_api_keys() == (ApiKey(**PROD_KEY),)
    assert "pw" not in repr(settings)  # the database password is a secret


def test_production_may_bind_all_interfaces() -> None:
    assert prod(host="0.0.0.0").host == "0.0.0.0"


def test_production_needs_keys() -> None:
    with pytest.raises(ValidationError, match="api_keys is empty"):
        prod(api_keys=[])


def test_production_needs_a_database_url() -> None:
    with pytest.raises(ValidationError, match="database_url is required"):
        prod(database_url=None)


@pytest.mark.parametrize("key", ["dev-agent-key", "dev-admin-key"])
def test_production_refuses_the_dev_keys(key: str) -> None:
    with pytest.raises(ValidationError, match="dev key"):
        prod(api_keys=[PROD_KEY, {"name": "sneaky", "role": "admin", "sha256": hash_key(key)}])


def test_dev_mode_adds_the_dev_keys_with_their_roles() -> None:
    settings = ApiSettings(dev_mode=True)
    roles = {k.name: k.role for k in settings.effective_api_keys()}
    assert roles == {"dev-agent": "agent", "dev-admin": "admin"}
    assert {k.sha256 for k in settings.effective_api_keys()} == DEV_KEY_HASHES
    assert ApiSettings(dev_mode=True, api_keys=[PROD_KEY]).effective_api_keys()[0].name == "desk"


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.5", "::", "api.example.net"])
def test_dev_mode_refuses_non_loopback_binds(host: str) -> None:
    with pytest.raises(ValidationError, match="loopback"):
        ApiSettings(dev_mode=True, host=host)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_dev_mode_accepts_loopback(host: str) -> None:
    assert ApiSettings(dev_mode=True, host=host).host == host


def test_region_is_validated_and_upper_cased() -> None:
    assert prod(default_region="gb").default_region == "GB"
    with pytest.raises(ValidationError, match="default_region"):
        prod(default_region="XX")


@pytest.mark.parametrize(
    "bad",
    [
        {"database_url": "not a url"},
        {"database_url": "mysql://u@h/db"},
        {"kafka_bootstrap": "localhost"},
        {"kafka_bootstrap": "host:99999"},
        {"kafka_bootstrap": " , "},
        {"api_keys": [{**PROD_KEY, "sha256": "abc"}]},
        {"api_keys": [{**PROD_KEY, "role": "root"}]},
        {"api_keys": [PROD_KEY, {**PROD_KEY, "sha256": hash_key("other")}]},
        {"api_keys": [PROD_KEY, {**PROD_KEY, "name": "twin"}]},
        {"port": 0},
        {"db_pool_size": 0},
    ],
)
def test_invalid_values_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        prod(**bad)


def test_erasure_salt_is_required_outside_dev_mode_and_never_the_dev_salt() -> None:
    with pytest.raises(ValidationError, match="erasure_salt is required"):
        prod(erasure_salt=None)
    with pytest.raises(ValidationError, match="dev salt"):
        prod(erasure_salt=DEV_SALT)
    with pytest.raises(ValidationError, match="at least 16 bytes"):
        prod(erasure_salt="short")
    assert prod().salt_bytes() == SALT.encode()
    assert "a-long-secret" not in repr(prod())
    assert ApiSettings(dev_mode=True).salt_bytes() == DEV_SALT.encode()


def test_parse_bootstrap_and_loopback_helpers() -> None:
    assert parse_bootstrap("a:9092, [::1]:9093") == (("a", 9092), ("::1", 9093))
    assert prod(kafka_bootstrap="k1:9092,k2:9092").bootstrap_servers[1] == ("k2", 9092)
    assert is_loopback("127.8.0.1") and is_loopback("[::1]") and not is_loopback("10.0.0.1")


def test_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREADLINE_API_KEYS", orjson.dumps([PROD_KEY]).decode())
    monkeypatch.setenv("THREADLINE_DATABASE_URL", DB)
    monkeypatch.setenv("THREADLINE_ERASURE_SALT", SALT)
    monkeypatch.setenv("THREADLINE_API_PORT", "9100")
    monkeypatch.setenv("THREADLINE_DEFAULT_REGION", "de")
    monkeypatch.setenv("THREADLINE_PORT", "9200")  # the API-specific name wins
    monkeypatch.setenv("PORT", "1")  # names without the prefix are not read
    monkeypatch.setenv("HOST", "0.0.0.0")
    settings = ApiSettings()
    assert (settings.host, settings.port) == ("127.0.0.1", 9100)
    assert settings.default_region == "DE" and settings.api_keys[0].name == "desk"


def test_generic_host_and_port_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREADLINE_DEV_MODE", "true")
    monkeypatch.setenv("THREADLINE_HOST", "::1")
    monkeypatch.setenv("THREADLINE_PORT", "9200")
    settings = ApiSettings()
    assert (settings.host, settings.port, settings.dev_mode) == ("::1", 9200, True)


def test_bad_environment_exits_2_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("THREADLINE_DATABASE_URL", DB)
    with pytest.raises(SystemExit) as info:
        load_settings()
    assert info.value.code == EXIT_CONFIG
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pw" not in err
    assert err.endswith(
        "invalid configuration: api_keys is empty: set THREADLINE_API_KEYS (or use dev mode)\n"
    )


def test_bad_field_is_named_by_its_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("THREADLINE_DEV_MODE", "true")
    monkeypatch.setenv("THREADLINE_DEFAULT_REGION", "XX")
    with pytest.raises(SystemExit):
        load_settings()
    assert "THREADLINE_DEFAULT_REGION: default_region must be" in capsys.readouterr().err


def test_unparseable_keys_json_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("THREADLINE_API_KEYS", "[{")
    with pytest.raises(SystemExit) as info:
        load_settings()
    assert info.value.code == EXIT_CONFIG
    assert "api_keys" in capsys.readouterr().err
