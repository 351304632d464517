"""Identity rules as configuration: per-type priority and limits, blocked values, admin constraints.

Pure data and checks, no I/O. Loaded once from settings (`IdentityRules.from_config`) and
handed to `profile_store.domain.identity.resolve_batch`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from profile_store import ProfileStoreError
from schemas.identifiers import REFERENCE_TYPES, Identifier


class IdentityConfigError(ProfileStoreError, ValueError):
    """The identity rules configuration is invalid."""


@dataclass(frozen=True)
class TypeRule:
    """How one identifier type takes part in stitching."""

    #: Higher wins: the event belongs to its highest-priority identifier's customer, and in a
    #: conflict the lower-priority identifier gives way (is not linked).
    priority: int = 10
    #: Most values of this type one customer may hold (None: no limit). A merge or link
    #: that would exceed it does not happen.
    limit: int | None = None
    #: Resolves a lookup but never links two customers (order and ticket ids).
    reference: bool = False
    #: Weak evidence (a household phone, a shared device): links activity to a customer, but
    #: never merges two customers that each hold a strong (not weak, not reference)
    #: identifier of the same type.
    weak: bool = False


DEFAULT_TYPE_RULES: Mapping[str, TypeRule] = MappingProxyType(
    {
        "user_id": TypeRule(priority=100, limit=1),
        "loyalty_id": TypeRule(priority=90, limit=1),
        "email": TypeRule(priority=80, limit=3),
        "phone": TypeRule(priority=70, limit=3, weak=True),
        "anonymous_id": TypeRule(priority=20, weak=True),
        **{t: TypeRule(priority=0, reference=True) for t in sorted(REFERENCE_TYPES)},
    }
)

DEFAULT_BLOCKED_VALUES = frozenset(
    {"unknown", "null", "none", "undefined", "n/a", "na", "test", "anonymous", "0", "-"}
)
DEFAULT_BLOCKED_PATTERNS = (
    r"^(test|example|noreply|no-reply|donotreply|do-not-reply|null|none|unknown)@",
    r"@(example\.(com|org|net)|test\.com)$",
    # A repeated digit after an optional country code: +10000000000, 0000000, +15555555555.
    r"^\+?\d{0,3}?(\d)\1{6,}$",
)


@dataclass(frozen=True)
class IdentityRules:
    """Per-type rules (unknown types get `default`), and values that never link anyone."""

    types: Mapping[str, TypeRule] = field(default_factory=lambda: DEFAULT_TYPE_RULES)
    default: TypeRule = TypeRule()
    blocked_values: frozenset[str] = DEFAULT_BLOCKED_VALUES
    blocked_patterns: tuple[str, ...] = DEFAULT_BLOCKED_PATTERNS
    _compiled: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)
    _blocked_cache: dict[str, bool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            compiled = tuple(re.compile(p) for p in self.blocked_patterns)
        except re.error as exc:
            raise IdentityConfigError(
                f"blocked pattern is not a regular expression: {exc}"
            ) from exc
        object.__setattr__(self, "_compiled", compiled)
        object.__setattr__(self, "_blocked_cache", {})
        object.__setattr__(self, "types", MappingProxyType(dict(self.types)))
        for name, rule in self.types.items():
            if rule.limit is not None and rule.limit < 1:
                raise IdentityConfigError(f"limit for {name} must be at least 1")

    def rule(self, type_: str) -> TypeRule:
        """The rule for an identifier type."""
        return self.types.get(type_, self.default)

    def is_blocked(self, ident: Identifier) -> bool:
        """True for placeholder values that must never link anyone (memoised, bounded)."""
        cache = self._blocked_cache
        hit = cache.get(ident.value)
        if hit is None:
            value = ident.value.lower()
            hit = value in self.blocked_values or any(p.search(value) for p in self._compiled)
            if len(cache) >= 100_000:
                cache.clear()
            cache[ident.value] = hit
        return hit

    def is_reference(self, ident: Identifier) -> bool:
        """True for ids that resolve a lookup but never link two customers."""
        return self.rule(ident.type).reference

    def is_strong(self, type_: str) -> bool:
        """A type that identifies a person on its own (not weak, not a reference)."""
        rule = self.rule(type_)
        return not rule.weak and not rule.reference

    def limited_types(self) -> frozenset[str]:
        """Types with a per-customer limit."""
        return frozenset(t for t, r in self.types.items() if r.limit is not None)

    def rank(self, ident: Identifier) -> tuple[int, str, str]:
        """Sort key: highest priority first, then type and value for determinism."""
        return (-self.rule(ident.type).priority, ident.type, ident.value)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> IdentityRules:
        """Build from a JSON-like mapping; fails fast naming the bad key.

        `{"types": {"email": {"priority": 80, "limit": 3}}, "blocked_values": [...],
        "blocked_patterns": [...], "replace_default_blocks": false}`. Types given replace the
        default rule for that type; others keep their defaults.
        """
        unknown = set(config) - {
            "types",
            "blocked_values",
            "blocked_patterns",
            "replace_default_blocks",
        }
        if unknown:
            raise IdentityConfigError(f"unknown identity rule keys: {sorted(unknown)}")
        types = dict(DEFAULT_TYPE_RULES)
        for name, spec in dict(config.get("types", {})).items():
            if not isinstance(spec, Mapping) or set(spec) - {
                "priority",
                "limit",
                "reference",
                "weak",
            }:
                raise IdentityConfigError(
                    f"types.{name} must be an object of priority, limit, reference, weak"
                )
            try:
                types[name] = TypeRule(
                    priority=int(spec.get("priority", 10)),
                    limit=None if spec.get("limit") is None else int(spec["limit"]),
                    reference=bool(spec.get("reference", False)),
                    weak=bool(spec.get("weak", False)),
                )
            except (TypeError, ValueError) as exc:
                raise IdentityConfigError(f"types.{name}: {exc}") from exc
        replace = bool(config.get("replace_default_blocks", False))
        values = {str(v).lower() for v in config.get("blocked_values", [])}
        patterns = tuple(str(p) for p in config.get("blocked_patterns", []))
        return cls(
            types=types,
            blocked_values=frozenset(values if replace else values | DEFAULT_BLOCKED_VALUES),
            blocked_patterns=patterns if replace else DEFAULT_BLOCKED_PATTERNS + patterns,
        )


DEFAULT_RULES = IdentityRules()

KIND_SEPARATE = "separate"
KIND_TOGETHER = "together"


@dataclass(frozen=True)
class Together:
    """An admin's manual merge: the customers holding `a` and `b` are one person from `at`."""

    a: Identifier
    b: Identifier
    at: datetime


@dataclass(frozen=True)
class Constraints:
    """Admin decisions stitching must respect, for the identifiers a batch touches."""

    #: Pairs that must never be in one customer (set by an unmerge).
    separate: frozenset[frozenset[Identifier]] = frozenset()
    together: tuple[Together, ...] = ()

    @classmethod
    def of(
        cls,
        separate: Iterable[tuple[Identifier, Identifier]] = (),
        together: Iterable[Together] = (),
    ) -> Constraints:
        """Build from pairs."""
        return cls(frozenset(frozenset(p) for p in separate if p[0] != p[1]), tuple(together))

    def partners(self) -> dict[Identifier, set[Identifier]]:
        """For each separated identifier, those it must never share a customer with."""
        out: dict[Identifier, set[Identifier]] = {}
        for pair in self.separate:
            a, b = tuple(pair)
            out.setdefault(a, set()).add(b)
            out.setdefault(b, set()).add(a)
        return out


NO_CONSTRAINTS = Constraints()


def parse_rules_text(raw: str) -> Mapping[str, Any]:
    """The rules document from settings: inline JSON, or `@/path/to/rules.json`."""
    import json
    from pathlib import Path

    text = raw.strip()
    if not text:
        return {}
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise IdentityConfigError(f"cannot read identity rules file: {exc}") from exc
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise IdentityConfigError(f"identity rules are not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise IdentityConfigError("identity rules must be a JSON object")
    return doc
