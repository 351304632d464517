"""One stitching configuration for every deployable: identity rules and trait source priorities.

Set with `THREADLINE_IDENTITY_RULES` (inline JSON or `@/path/rules.json`); see the README.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from profile_store.domain.identity_rules import (
    DEFAULT_RULES,
    IdentityConfigError,
    IdentityRules,
    parse_rules_text,
)
from profile_store.domain.traits import DEFAULT_SOURCE_PRIORITY, DEFAULT_TRAIT_RULES, TraitRules


@dataclass(frozen=True)
class StitchingConfig:
    """Identity rules plus traits survivorship rules."""

    identity: IdentityRules = DEFAULT_RULES
    traits: TraitRules = DEFAULT_TRAIT_RULES

    @classmethod
    def parse(cls, raw: str) -> StitchingConfig:
        """Parse the settings value; raises `IdentityConfigError` naming the problem."""
        doc: dict[str, Any] = dict(parse_rules_text(raw))
        sources = doc.pop("trait_sources", None)
        traits = DEFAULT_TRAIT_RULES
        if sources is not None:
            if not isinstance(sources, Mapping) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in sources.values()
            ):
                raise IdentityConfigError("trait_sources must map source names to integers")
            traits = TraitRules({**DEFAULT_SOURCE_PRIORITY, **sources})
        return cls(IdentityRules.from_config(doc), traits)
