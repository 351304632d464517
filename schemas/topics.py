"""Kafka topic names shared by the adapters and the stream processors."""

from typing import Final

INTERACTIONS: Final = "threadline.interactions"
DEADLETTER: Final = "threadline.deadletter"
#: Moments of truth (insight rules), keyed by customer id.
SIGNALS: Final = "threadline.signals"

ALL_TOPICS: Final = (INTERACTIONS, DEADLETTER, SIGNALS)
