"""Profile traits survivorship (pure): per trait, the highest-priority source, then the latest.

The documented rule: a value from a source of higher priority beats one of lower priority
whatever their times (a CRM or the shop's customer record over a name typed into a chat
widget); between sources of equal priority the latest by `occurred_at` wins; exact ties
break on source name, then value, so the result never depends on arrival order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import orjson

#: Trait keys that are identifiers, not traits: they live in the identity graph instead.
IDENTIFIER_KEYS = frozenset({"email", "phone", "user_id", "userId", "anonymous_id", "anonymousId"})
MAX_TRAITS = 100

#: By the `source` names the adapters write: a CRM or the shop's customer record beats a
#: survey tool's contact, which beats an email display name, which beats a chat or
#: WhatsApp profile name (what a customer typed as their own handle).
DEFAULT_SOURCE_PRIORITY: Mapping[str, int] = MappingProxyType(
    {
        "crm": 90,
        "shopify": 70,
        "segment": 60,
        "amazon-connect": 60,
        "store-receipt": 60,
        "delighted": 50,
        "survey": 45,
        "typeform": 45,
        "smtp": 40,
        "email-http": 40,
        "sendgrid": 40,
        "mailgun": 40,
        "postmark": 40,
        "twilio-conversations": 30,
        "web-chat": 30,
        "twilio-messaging": 20,
    }
)


@dataclass(frozen=True)
class TraitRules:
    """Source priorities for traits survivorship (unknown sources get `default`)."""

    source_priority: Mapping[str, int] = field(default_factory=lambda: DEFAULT_SOURCE_PRIORITY)
    default: int = 50

    def priority(self, source: str) -> int:
        """How much a source is trusted for profile traits."""
        return self.source_priority.get(source, self.default)


DEFAULT_TRAIT_RULES = TraitRules()


def _rank(entry: Mapping[str, Any], rules: TraitRules) -> tuple[int, str, str, bytes]:
    source = str(entry.get("source") or "")
    value = orjson.dumps(entry.get("value"), option=orjson.OPT_SORT_KEYS)
    return (rules.priority(source), str(entry.get("at") or ""), source, value)


def merge_traits(
    current: Mapping[str, Any],
    updates: Mapping[str, Any],
    at: str,
    source: str,
    rules: TraitRules = DEFAULT_TRAIT_RULES,
) -> dict[str, Any]:
    """Fold `updates` observed at ISO time `at` from `source` into stored `current` traits.

    Stored form: `{key: {"value": v, "at": iso, "source": s}}`; each key keeps the entry
    that ranks highest under the module's rule, so arrival order does not matter.
    """
    merged = dict(current)
    for key, value in updates.items():
        if key in IDENTIFIER_KEYS or not isinstance(key, str):
            continue
        held = merged.get(key)
        if held is None and len(merged) >= MAX_TRAITS:
            continue
        entry = {"value": value, "at": at, "source": source}
        if held is None or _rank(entry, rules) > _rank(held, rules):
            merged[key] = entry
    return merged


def combine_stored(
    a: Mapping[str, Any], b: Mapping[str, Any], rules: TraitRules = DEFAULT_TRAIT_RULES
) -> dict[str, Any]:
    """Combine two customers' stored traits on a merge: the higher-ranked entry per key."""
    merged = dict(a)
    for key, held in b.items():
        mine = merged.get(key)
        if mine is None or _rank(held, rules) > _rank(mine, rules):
            merged[key] = held
    return merged


def flatten(stored: Mapping[str, Any]) -> dict[str, Any]:
    """The output form: `{key: value}`."""
    return {k: v.get("value") for k, v in stored.items()}
