"""Kafka topic names shared by the adapters and the stream processors."""

from typing import Final

INTERACTIONS: Final = "threadline.interactions"
DEADLETTER: Final = "threadline.deadletter"

ALL_TOPICS: Final = (INTERACTIONS, DEADLETTER)
