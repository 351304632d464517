"""Write keys with trust levels: the configuration forms, dev keys, production refusals."""

from __future__ import annotations

import orjson
import pytest
from pydantic import ValidationError

from ingest.keys import (
    DEV_BROWSER_KEY,
    DEV_VERIFICATION_SECRET,
    DEV_WRITE_KEY,
    KeyTrust,
    WriteKeys,
    WriteKeySpec,
)
from ingest.origins import Origins
from ingest.settings import IngestSettings
from tests.unit.ingest.test_settings import clean_env  # noqa: F401 - autouse: no THREADLINE_ env

BROWSER = {"key": "pk_live_shop", "trust": "browser", "verification_secret": "s" * 32}


def test_the_json_form_mixes_server_keys_and_browser_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREADLINE_WRITE_KEYS", orjson.dumps(["sk_backend", BROWSER]).decode())
    keys = IngestSettings().accepted_write_keys()
    server, browser = keys.match(b"sk_backend"), keys.match(b"pk_live_shop")
    assert server is not None and server.trust is KeyTrust.SERVER and server.secret is None
    assert browser is not None and browser.is_browser and browser.secret == b"s" * 32
    assert keys.match(b"pk_live") is None and keys.match(b"") is None and keys.match(None) is None
    assert "pk_live_shop" not in repr(browser) and "sss" not in repr(browser)


def test_dev_mode_adds_the_dev_browser_key_with_its_secret() -> None:
    key = IngestSettings(dev_mode=True).accepted_write_keys().match(DEV_BROWSER_KEY.encode())
    assert key is not None and key.is_browser and key.secret == DEV_VERIFICATION_SECRET.encode()


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ([DEV_WRITE_KEY], "refused outside dev mode"),
        ([{"key": DEV_BROWSER_KEY, "trust": "browser"}], "refused outside dev mode"),
        ([{**BROWSER, "verification_secret": DEV_VERIFICATION_SECRET}], "refused outside dev"),
        ([{**BROWSER, "verification_secret": "short"}], "at least 16 characters"),
        ([{"key": "k", "verification_secret": "s" * 32}], "for browser keys only"),
        ([{"key": "k", "trust": "public"}], "trust"),
        ([{"key": "k", "extra": 1}], "extra"),
        (["k", {"key": "k", "trust": "browser"}], "same key twice"),
    ],
)
def test_unsafe_or_wrong_keys_stop_the_gateway(keys: list[object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        IngestSettings(write_keys=orjson.dumps(keys).decode())


def test_the_secret_never_shows_in_settings_or_errors() -> None:
    spec = WriteKeySpec.model_validate(BROWSER)
    assert "s" * 32 not in repr(spec) and "pk_live_shop" not in repr(spec)
    assert [k.trust for k in WriteKeys([spec])] == [KeyTrust.BROWSER]


def test_cors_origins_exact_wildcard_any_and_local_in_dev() -> None:
    origins = Origins.parse(["https://shop.example.com", "https://*.brand.io/"])
    assert origins.allows("https://shop.example.com")
    assert origins.allows("https://eu.brand.io") and origins.allows("https://a.b.brand.io")
    assert not origins.allows("https://brand.io") and not origins.allows("http://shop.example.com")
    assert not origins.allows("https://shop.example.com.evil.io")
    assert not origins.allows("http://localhost:3000")
    assert Origins.parse([], local=True).allows("http://127.0.0.1:5173")
    assert Origins.parse([], local=True).allows("http://localhost")
    assert not Origins.parse([], local=True).allows("http://localhost.evil.io")
    assert Origins.parse(["*"]).allows("https://anything.example")
    assert Origins.parse([]).regex() is None


@pytest.mark.parametrize(
    "origin", ["shop.example.com", "https://shop.example.com/path", "ftp://x.io"]
)
def test_a_malformed_cors_origin_stops_the_gateway(origin: str) -> None:
    with pytest.raises(ValidationError, match="cors origin"):
        IngestSettings(write_keys="k", cors_origins=origin)
