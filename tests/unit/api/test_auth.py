"""API keys: sha256 hashing, constant-time matching, role hierarchy (no I/O)."""

from __future__ import annotations

import pytest

from api.auth import MAX_KEY_LENGTH, Forbidden, KeyRing, Principal, Unauthorized, authorise
from api.settings import ApiKey, hash_key


def ring() -> KeyRing:
    return KeyRing(
        [
            ApiKey(name="desk", role="agent", sha256=hash_key("agent-secret")),
            ApiKey(name="ops", role="admin", sha256=hash_key("admin-secret").upper()),
        ]
    )


def test_hash_key_is_hex_sha256() -> None:
    assert hash_key("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_known_keys_authenticate_to_their_principal() -> None:
    keys = ring()
    assert keys.authenticate("agent-secret") == Principal("desk", "agent")
    # Upper-case hex in the configuration is accepted (normalised to lower case).
    assert keys.authenticate("admin-secret") == Principal("ops", "admin")


@pytest.mark.parametrize("presented", ["agent-secre", "agent-secret ", "AGENT-SECRET", "x"])
def test_wrong_keys_are_unauthorized(presented: str) -> None:
    with pytest.raises(Unauthorized) as info:
        ring().authenticate(presented)
    assert info.value.status_code == 401
    assert info.value.headers == {"WWW-Authenticate": "Bearer"}
    assert info.value.message == "invalid API key"


@pytest.mark.parametrize("presented", [None, ""])
def test_missing_key_is_unauthorized_and_says_how(presented: str | None) -> None:
    with pytest.raises(Unauthorized, match="Authorization: Bearer"):
        ring().authenticate(presented)


def test_overlong_key_is_refused_even_if_its_hash_is_configured() -> None:
    long_key = "k" * (MAX_KEY_LENGTH + 1)
    keys = KeyRing([ApiKey(name="long", role="agent", sha256=hash_key(long_key))])
    with pytest.raises(Unauthorized):
        keys.authenticate(long_key)


def test_hash_not_key_is_not_accepted() -> None:
    # Presenting the stored digest itself must not work.
    with pytest.raises(Unauthorized):
        ring().authenticate(hash_key("agent-secret"))


def test_admin_includes_agent_but_not_the_reverse() -> None:
    admin, agent = Principal("ops", "admin"), Principal("desk", "agent")
    assert authorise(admin, "agent") is admin
    assert authorise(admin, "admin") is admin
    assert authorise(agent, "agent") is agent
    with pytest.raises(Forbidden) as info:
        authorise(agent, "admin")
    assert info.value.status_code == 403
    assert "admin" in info.value.message


def test_empty_keyring_refuses_everything() -> None:
    keys = KeyRing([])
    assert len(keys) == 0
    with pytest.raises(Unauthorized):
        keys.authenticate("anything")
