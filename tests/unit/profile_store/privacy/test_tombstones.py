"""Tombstone hashing and the drop/consent decision (pure, no I/O)."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from profile_store.privacy.tombstones import (
    DEV_SALT,
    TombstoneConfigError,
    decide,
    event_hashes,
    identifier_hash,
    resolve_salt,
)
from tests.support.events import event

SALT = b"unit-test-erasure-salt"
ERASED = event("old-1", ("email", "gone@shop.io"), ("phone", "+14155550100"))
FRESH = event("new-1", ("email", "other@shop.io"))
TOMBS = event_hashes(SALT, ERASED)


def test_identifier_hash_is_hmac_sha256_of_type_and_value() -> None:
    expected = hmac.new(SALT, b"email:gone@shop.io", hashlib.sha256).hexdigest()
    assert identifier_hash(SALT, "email", "gone@shop.io") == expected
    assert identifier_hash(b"another-salt-value", "email", "gone@shop.io") != expected
    # The type is part of the hash: the same text as another type is another identifier.
    assert identifier_hash(SALT, "user_id", "gone@shop.io") != expected
    assert "gone" not in expected


def test_drop_policy_drops_any_event_touching_a_tombstone() -> None:
    half = event("late-1", ("phone", "+1 415 555 0100"), ("anonymous_id", "d-9"))
    consenting = event("c-1", ("email", "gone@shop.io"), attributes={"consent": "granted"})
    decision = decide([ERASED, FRESH, half, consenting], TOMBS, SALT, "drop")
    assert decision.drop == {"old-1", "late-1", "c-1"}
    assert decision.lift == frozenset()


def test_consent_policy_admits_only_explicit_new_consent_and_lifts_its_tombstones() -> None:
    consenting = event("c-1", ("email", "gone@shop.io"), attributes={"consent": "granted"})
    vague = event("c-2", ("email", "gone@shop.io"), attributes={"consent": "yes please"})
    decision = decide([ERASED, FRESH, consenting, vague], TOMBS, SALT, "consent")
    assert decision.drop == {"old-1", "c-2"}
    assert decision.lift == {identifier_hash(SALT, "email", "gone@shop.io")}


def test_nothing_tombstoned_drops_nothing_and_unknown_policy_is_refused() -> None:
    assert decide([ERASED, FRESH], set(), SALT).drop == frozenset()
    with pytest.raises(TombstoneConfigError):
        decide([ERASED], TOMBS, SALT, "keep")  # type: ignore[arg-type]


@given(st.lists(st.sampled_from([ERASED, FRESH]), max_size=6), st.sampled_from(["drop", "consent"]))
def test_events_without_tombstoned_identifiers_are_never_dropped(events: list, policy: str) -> None:
    decision = decide(events, TOMBS, SALT, policy)  # type: ignore[arg-type]
    assert "new-1" not in decision.drop
    assert ("old-1" in decision.drop) == (ERASED in events)


def test_salt_is_required_outside_dev_mode() -> None:
    assert resolve_salt(None, dev_mode=True) == DEV_SALT.encode()
    assert resolve_salt("a-salt-of-enough-length", dev_mode=False) == b"a-salt-of-enough-length"
    for bad in (None, "", "short", DEV_SALT):
        with pytest.raises(TombstoneConfigError):
            resolve_salt(bad, dev_mode=False)


def test_worker_settings_need_the_salt_outside_dev_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from services.settings import WorkerSettings

    for name in ("THREADLINE_ERASURE_SALT", "THREADLINE_DEV_MODE", "THREADLINE_ERASURE_POLICY"):
        monkeypatch.delenv(name, raising=False)
    url = "postgresql://x@db/threadline"
    with pytest.raises(ValidationError, match="THREADLINE_ERASURE_SALT: erasure_salt is required"):
        WorkerSettings(database_url=url)
    with pytest.raises(ValidationError):
        WorkerSettings(database_url=url, erasure_salt="a-long-enough-salt", erasure_policy="keep")
    settings = WorkerSettings(database_url=url, erasure_salt="a-long-enough-salt")
    assert settings.salt_bytes() == b"a-long-enough-salt" and settings.erasure_policy == "drop"
    assert WorkerSettings(database_url=url, dev_mode=True).salt_bytes() == DEV_SALT.encode()
