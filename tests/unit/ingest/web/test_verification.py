"""Which identifiers a browser message vouches for: its device, and the user its
`context.user_hash` verifies; everything else is a claim."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

import pytest

from ingest.web.mapping import map_batch, map_message
from ingest.web.verification import NO_DEVICE, BrowserSource, user_hash
from schemas import CanonicalEvent, InvalidEvent
from schemas.trust import Trust

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
SECRET = b"site-verification-secret"
BROWSER = BrowserSource(SECRET)


def pairs(idents: Any) -> set[tuple[str, str]]:
    return {(i.type, i.value) for i in idents}


def identify(**fields: Any) -> dict[str, Any]:
    return {
        "type": "identify",
        "anonymousId": "dev-1",
        "userId": "cust-42",
        "traits": {"email": "Maria@Shop.io", "phone": "+1 415 555 0134", "name": "Maria"},
        **fields,
    }


def mapped(msg: dict[str, Any], browser: BrowserSource | None = BROWSER) -> CanonicalEvent:
    return map_message(msg, AT, browser=browser)


def test_the_hash_is_lower_case_hex_hmac_sha256_of_the_user_id() -> None:
    want = hmac.new(SECRET, b"cust-42", hashlib.sha256).hexdigest()
    assert user_hash(SECRET, "cust-42") == want and want == want.lower() and len(want) == 64


def test_an_unverified_browser_message_vouches_for_its_device_only() -> None:
    event = mapped(identify())
    assert event.trust is Trust.BROWSER_UNVERIFIED
    assert pairs(event.identifiers) == {("anonymous_id", "dev-1")}
    assert pairs(event.claims) == {
        ("user_id", "cust-42"),
        ("email", "maria@shop.io"),
        ("phone", "+14155550134"),
    }


def test_a_valid_user_hash_verifies_the_user_id_and_nothing_else() -> None:
    context = {"user_hash": user_hash(SECRET, "cust-42")}
    event = mapped(identify(context=context))
    assert event.trust is Trust.BROWSER_VERIFIED
    assert pairs(event.identifiers) == {("anonymous_id", "dev-1"), ("user_id", "cust-42")}
    # The email and phone beside it are typed into the page: still claims.
    assert pairs(event.claims) == {("email", "maria@shop.io"), ("phone", "+14155550134")}
    assert "user_hash" not in str(event.attributes)


def test_without_a_user_id_the_hash_verifies_the_email_as_sent_or_normalised() -> None:
    for signed in ("Maria@Shop.io", "maria@shop.io"):
        msg = identify(userId=None, context={"user_hash": user_hash(SECRET, signed)})
        event = mapped(msg)
        assert event.trust is Trust.BROWSER_VERIFIED
        assert pairs(event.identifiers) == {("anonymous_id", "dev-1"), ("email", "maria@shop.io")}
    track = {
        "type": "track",
        "event": "Viewed",
        "anonymousId": "dev-1",
        "context": {"traits": {"email": "a@b.io"}, "user_hash": user_hash(SECRET, "a@b.io")},
    }
    assert pairs(mapped(track).identifiers) == {("anonymous_id", "dev-1"), ("email", "a@b.io")}


@pytest.mark.parametrize(
    "context",
    [
        {"user_hash": user_hash(b"another-secret", "cust-42")},
        {"user_hash": user_hash(SECRET, "maria@shop.io")},  # a user id is signed, not the email
        {"user_hash": "not-a-hash"},
        {"user_hash": 42},
        {},
    ],
)
def test_a_wrong_or_missing_hash_leaves_everything_claimed(context: dict[str, Any]) -> None:
    event = mapped(identify(context=context))
    assert event.trust is Trust.BROWSER_UNVERIFIED
    assert ("user_id", "cust-42") in pairs(event.claims)


def test_a_browser_key_without_a_secret_verifies_nobody() -> None:
    event = mapped(identify(context={"user_hash": user_hash(SECRET, "cust-42")}), BrowserSource())
    assert event.trust is Trust.BROWSER_UNVERIFIED


def test_an_alias_from_a_browser_claims_the_previous_id() -> None:
    msg = {"type": "alias", "anonymousId": "dev-1", "previousId": "dev-0", "userId": "cust-42"}
    event = mapped(msg)
    assert pairs(event.identifiers) == {("anonymous_id", "dev-1")}
    assert pairs(event.claims) == {("anonymous_id", "dev-0"), ("user_id", "cust-42")}


def test_nothing_vouched_for_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidEvent, match="anonymousId: is required from a browser"):
        mapped({"type": "track", "event": "x", "userId": "cust-42"})
    with pytest.raises(InvalidEvent, match=r"batch\[0\]\.anonymousId"):
        map_batch({"batch": [{"type": "page", "userId": "u"}]}, AT, browser=BROWSER)
    assert NO_DEVICE.startswith("anonymousId")


def test_a_server_message_vouches_for_everything() -> None:
    event = mapped(identify(), browser=None)
    assert event.trust is Trust.SERVER and event.claims == ()
    assert len(event.identifiers) == 4
