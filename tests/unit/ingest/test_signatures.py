"""Each vendor's webhook signature, computed as its own library or documentation says.

Twilio: the `twilio` package's `RequestValidator` (and its test vectors, twilio-python
tests/unit/test_request_validator.py). Shopify: shopify.dev "Verify webhooks" (base64
HMAC-SHA256 of the raw body). Typeform: typeform.com/developers/webhooks/secure-your-webhooks
(`sha256=` + base64 HMAC-SHA256). Delighted: delighted.com/docs/api/webhooks
(`X-Delighted-Webhook-Signature`, `sha256=` + hex HMAC-SHA256 keyed with the API key).
Mailgun: documentation.mailgun.com "Securing webhooks" (hex HMAC-SHA256 of timestamp + token).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from twilio.request_validator import RequestValidator

from ingest.signatures import (
    delighted_signature,
    mailgun_signature,
    matches,
    shopify_signature,
    twilio_signature,
    twilio_urls,
    typeform_signature,
)

URI = "https://mycompany.com/myapp.php?foo=1&bar=2"
VECTOR = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}
BODY = b'{"event_id":"LtWXD3crgy","event_type":"form_response"}'


def test_twilio_signature_matches_the_reference_vectors_and_the_sdk() -> None:
    assert twilio_signature(b"12345", URI, VECTOR.items()) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert RequestValidator("12345").compute_signature(URI, VECTOR) == twilio_signature(
        b"12345", URI, VECTOR.items()
    )
    duplicate = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
    assert twilio_signature(b"12345", URI, duplicate) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="


@pytest.mark.parametrize(
    ("uri", "signature"),
    [
        (URI.replace(".com", ".com:1234"), "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        (URI, "kvajT1Ptam85bY51eRf/AJRuM3w="),  # signed with :443
        (URI.replace("https", "http"), "0ZXoZLH/DfblKGATFgpif+LLRf4="),  # signed with :80
        (URI.replace(".com", ".com:1234").replace("https", "http"), "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="),
    ],
)
def test_twilio_signature_accepts_the_url_with_or_without_port(uri: str, signature: str) -> None:
    computed = {twilio_signature(b"12345", u, VECTOR.items()) for u in twilio_urls(uri)}
    assert signature in computed
    assert RequestValidator("12345").validate(uri, VECTOR, signature)


def test_twilio_signature_depends_on_every_part() -> None:
    good = twilio_signature(b"12345", URI, VECTOR.items())
    assert twilio_signature(b"12346", URI, VECTOR.items()) != good
    assert twilio_signature(b"12345", URI + "&x=1", VECTOR.items()) != good
    assert twilio_signature(b"12345", URI, {**VECTOR, "Digits": "1235"}.items()) != good


def test_shopify_typeform_and_delighted_sign_the_raw_body() -> None:
    digest = hmac.new(b"secret", BODY, hashlib.sha256).digest()
    assert shopify_signature(b"secret", BODY) == base64.b64encode(digest).decode()
    assert typeform_signature(b"secret", BODY) == "sha256=" + base64.b64encode(digest).decode()
    assert delighted_signature(b"secret", BODY) == "sha256=" + digest.hex()
    for sign in (shopify_signature, typeform_signature, delighted_signature):
        assert sign(b"secret", BODY + b" ") != sign(b"secret", BODY)
        assert sign(b"other", BODY) != sign(b"secret", BODY)


def test_mailgun_signs_timestamp_and_token() -> None:
    token = "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"
    expected = hmac.new(b"key-1", b"1529006854" + token.encode(), hashlib.sha256).hexdigest()
    assert mailgun_signature(b"key-1", "1529006854", token) == expected
    assert mailgun_signature(b"key-1", "1529006855", token) != expected


def test_matches_is_exact_and_refuses_blanks() -> None:
    assert matches(" abc ", ["x", "abc"])
    assert not matches("abd", ["abc"])
    assert not matches("", ["", "abc"])
    assert not matches(None, ["abc"])
