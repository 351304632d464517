"""Screen pops: a call reaching an agent, announced on the call's own canonical event.

The gateway publishes only to Kafka, so a pop travels with the event that puts the call on
the caller's timeline (kind `call_in_progress`, replaced in place by the contact record when
that arrives): `attributes.screen_pop` names the agent (an API key's name) and a pop id that
is deterministic from the source, so a redelivered or repeated announcement pops once. The
worker records the pop once the event is in a timeline; the API pushes it to that agent's
open consoles.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

#: The attribute of a call's event that asks for a screen pop.
SCREEN_POP_KEY: Final = "screen_pop"
#: A call that reached an agent and has no contact record yet.
CALL_IN_PROGRESS: Final = "call_in_progress"
#: What an API key (and so an agent) may be named.
AGENT_NAME_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._@-]*$"
MAX_AGENT_NAME: Final = 64
MAX_POP_ID: Final = 300


class ScreenPop(BaseModel):
    """Whose console shows the caller, and the pop's deterministic id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agent: str = Field(min_length=1, max_length=MAX_AGENT_NAME, pattern=AGENT_NAME_PATTERN)
    pop_id: str = Field(min_length=1, max_length=MAX_POP_ID)
    rang_at: AwareDatetime

    def attribute(self) -> dict[str, Any]:
        """As `attributes.screen_pop` of the call's event (JSON values)."""
        return {"agent": self.agent, "pop_id": self.pop_id, "rang_at": self.rang_at.isoformat()}


def screen_pop_of(attributes: Mapping[str, Any]) -> ScreenPop | None:
    """The pop an event's attributes ask for, or None (also for a malformed one)."""
    value = attributes.get(SCREEN_POP_KEY)
    if not isinstance(value, Mapping):
        return None
    try:
        return ScreenPop.model_validate(value)
    except ValidationError:
        return None


def pop_id_for(event_id: str, agent: str) -> str:
    """The pop of one call for one agent: the same call announced twice pops once."""
    return f"{event_id}>{agent}"[:MAX_POP_ID]
