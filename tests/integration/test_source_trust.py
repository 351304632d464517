"""Source trust end to end: gateway (server key, public browser key), broker, worker, API.

The attack of issue 17: with the public key, from a new device, `identify {email: <a
customer's email>, phone: <the attacker's phone>, name: "Mallory"}`. The attacker's phone
must find nobody; the victim's profile, traits, export and erasure must be untouched. And the
legitimate paths: an identify verified by `context.user_hash`, and a device confirmed later
by the site's backend (analytics-python with the device's anonymousId), join the device's
earlier browsing to the customer.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from ingest.web.verification import user_hash
from tests.support.trust_stack import SECRET, SERVER_KEY, Stack, trust_stack
from tests.support.worker import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(
    kafka_bootstrap: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    with trust_stack(kafka_bootstrap, database_url, tmp_path_factory.mktemp("trust")) as s:
        yield s


def phone() -> str:
    return f"+1415555{random.randint(1000, 9999)}"


def held(profile: dict[str, Any]) -> set[tuple[str, str]]:
    return {(i["type"], i["value"]) for i in profile["identifiers"]}


def test_a_public_key_cannot_hijack_a_customer(stack: Stack) -> None:
    tag = uuid.uuid4().hex[:8]
    user, email, victim_phone = f"cust-{tag}", f"victim-{tag}@shop.io", phone()
    device, attacker_phone = f"attacker-{tag}", phone()
    stack.server(
        "identify",
        userId=user,
        traits={"email": email, "phone": victim_phone, "name": "Victoria Stone"},
        messageId=f"v1-{tag}",
    )
    stack.server(
        "track",
        userId=user,
        event="Order Completed",
        properties={"order_id": f"W-{tag}", "address": "1 Market St"},
        messageId=f"v2-{tag}",
    )
    victim = stack.wait_for_event("email", email, f"segment:v2-{tag}")

    # The attack, with the key any visitor can read in the site's JavaScript.
    claimed = {"email": email, "phone": attacker_phone, "name": "Mallory"}
    stack.browser("i", anonymousId=device, userId=user, traits=claimed, messageId=f"a1-{tag}")
    stack.browser("t", anonymousId=device, event="Viewed Orders", messageId=f"a2-{tag}")
    attacker = stack.wait_for_event("anonymous_id", device, f"segment:a2-{tag}")

    # The attacker's phone finds nobody; the device is a profile of its own, its claims shown.
    assert stack.lookup("phone", attacker_phone).status_code == 404
    assert attacker["customer_id"] != victim["customer_id"]
    assert held(attacker) == {("anonymous_id", device)} and attacker["traits"] == {}
    claims = {(c["type"], c["value"]) for c in attacker["unverified_claims"]}
    assert claims == {("user_id", user), ("email", email), ("phone", attacker_phone)}
    lineage = stack.agent(f"/v1/customers/{attacker['customer_id']}/links").json()
    assert {(c["value"], c["reason"]) for c in lineage["conflicts"]} == {
        (v, "unverified:browser") for _, v in claims
    }
    assert [(link["value"], link["trust"]) for link in lineage["links"]] == [
        (device, "browser_unverified")
    ]
    trusts = {i["event_id"]: i["trust"] for i in stack.timeline(attacker["customer_id"])}
    assert set(trusts.values()) == {"browser_unverified"}

    # The victim: same profile, traits, identifiers and timeline; nothing found by the claims.
    after = stack.lookup("email", email).json()
    assert after["customer_id"] == victim["customer_id"]
    assert after["traits"]["name"] == "Victoria Stone" and held(after) == held(victim)
    assert after["unverified_claims"] == []
    events = {i["event_id"] for i in stack.timeline(victim["customer_id"])}
    assert events == {f"segment:v1-{tag}", f"segment:v2-{tag}"}
    for query in ("Mallory", attacker_phone):
        assert stack.agent("/v1/search", q=query).json()["items"] == []
    export = stack.admin("GET", f"/v1/customers/{victim['customer_id']}/export")
    assert export.status_code == 200
    assert attacker_phone not in export.text and f"a1-{tag}" not in export.text
    assert "Mallory" not in export.text

    # Erasure: the victim's identifiers are tombstoned, the attacker's phone is not.
    erased = stack.admin("DELETE", f"/v1/customers/{victim['customer_id']}")
    assert erased.status_code == 200 and erased.json()["tombstones"] == len(held(victim))
    assert erased.json()["deleted"]["timeline_events"] == 2
    # One customer id keys both to one partition: the first is dropped, the second lands.
    newcomer = f"new-{tag}"
    stack.server("identify", userId=newcomer, traits={"email": email}, messageId=f"n1-{tag}")
    stack.server(
        "identify", userId=newcomer, traits={"phone": attacker_phone}, messageId=f"n2-{tag}"
    )
    fresh = stack.wait_for_event("phone", attacker_phone, f"segment:n2-{tag}")
    assert held(fresh) == {("user_id", newcomer), ("phone", attacker_phone)}
    assert stack.lookup("email", email).status_code == 404


def test_verified_and_server_confirmed_devices_join_their_history(stack: Stack) -> None:
    from segment.analytics import Client

    tag = uuid.uuid4().hex[:8]
    user, email, laptop, mobile = f"maria-{tag}", f"maria-{tag}@shop.io", f"l-{tag}", f"m-{tag}"
    stack.server("identify", userId=user, traits={"email": email, "name": "Maria Lopez"})
    # The laptop browses, then logs in: the site's backend signed the user id.
    stack.browser("p", anonymousId=laptop, name="Home", messageId=f"b1-{tag}")
    stack.browser(
        "i",
        anonymousId=laptop,
        userId=user,
        traits={"email": email, "name": "Maria L."},
        context={"user_hash": user_hash(SECRET.encode(), user)},
        messageId=f"b2-{tag}",
    )
    # The phone browses and claims the user without a hash: it stays apart...
    stack.browser("p", anonymousId=mobile, name="Basket", messageId=f"b3-{tag}")
    stack.browser("i", anonymousId=mobile, userId=user, messageId=f"b4-{tag}")
    apart = stack.wait_for_event("anonymous_id", mobile, f"segment:b4-{tag}")
    maria = stack.wait_for_event("email", email, f"segment:b2-{tag}")
    assert apart["customer_id"] != maria["customer_id"]
    assert [c["value"] for c in apart["unverified_claims"]] == [user]

    # ...until the site's backend, after the login, sends the device with the user id.
    errors: list[Exception] = []
    client = Client(
        SERVER_KEY, host=stack.gateway, sync_mode=True, on_error=lambda e, _b: errors.append(e)
    )
    client.identify(user, {"plan": "gold"}, anonymous_id=mobile, message_id=f"c1-{tag}")
    assert errors == []
    wanted = {f"segment:{m}-{tag}" for m in ("b1", "b2", "b3", "b4", "c1")}

    def joined() -> bool:
        profile = stack.lookup("email", email).json()
        return wanted <= {i["event_id"] for i in stack.timeline(profile["customer_id"])}

    wait_for(joined, timeout=60, what="both devices' history on Maria's timeline")
    profile = stack.lookup("anonymous_id", mobile).json()
    assert stack.lookup("anonymous_id", laptop).json()["customer_id"] == profile["customer_id"]
    assert held(profile) >= {("user_id", user), ("anonymous_id", laptop), ("anonymous_id", mobile)}
    assert profile["unverified_claims"] == []
    # A verified identify sets traits (the server's name wins by source priority, both
    # `segment`: the latest); the unverified one never does.
    assert profile["traits"]["plan"] == "gold" and profile["traits"]["name"] == "Maria L."
    trust = {i["event_id"]: i["trust"] for i in stack.timeline(profile["customer_id"])}
    assert trust[f"segment:b2-{tag}"] == "browser_verified"
    assert trust[f"segment:b4-{tag}"] == "browser_unverified"
    assert trust[f"segment:c1-{tag}"] == "server"
    links = stack.agent(f"/v1/customers/{profile['customer_id']}/links").json()
    by_value = {link["value"]: link["trust"] for link in links["links"]}
    assert by_value[user] == "server" and by_value[laptop] == "browser_unverified"
    assert orjson.dumps(links).count(b"unverified:browser") == 0
