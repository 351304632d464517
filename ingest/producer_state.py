"""The Kafka producer's side of publishing: partitioning by key, and telling when a producer's
idempotence state no longer matches the broker's (see `ingest.publisher.KafkaPublisher`)."""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any, Final

from kafka.errors import (
    DuplicateSequenceNumberError,
    IllegalStateError,
    InvalidProducerEpochError,
    InvalidProducerIdMappingError,
    KafkaError,
    KafkaTimeoutError,
    OutOfOrderSequenceNumberError,
    ProducerFencedError,
    UnknownProducerIdError,
)
from kafka.partitioner.default import DefaultPartitioner, murmur2


@lru_cache(maxsize=65_536)
def _key_hash(key: bytes) -> int:
    return int(murmur2(key)) & 0x7FFFFFFF


class KeyHashCachingPartitioner(DefaultPartitioner):
    """kafka-python's default (Java-compatible murmur2) partitioner, remembering key hashes:
    murmur2 is pure Python there, and one person's events share a key."""

    def partition(
        self, topic: str, key: Any, serialized_key: Any, value: Any, serialized: Any, cluster: Any
    ) -> Any:
        """The partition for a record, as `DefaultPartitioner` picks it."""
        if serialized_key is None:
            return super().partition(topic, key, serialized_key, value, serialized, cluster)
        partitions = cluster.partitions_for_topic(topic)
        if partitions is None:
            raise ValueError(f"Topic {topic} not found in ClusterMetadata")
        ordered = sorted(partitions)
        return ordered[_key_hash(bytes(serialized_key)) % len(ordered)]


class PhantomAck(KafkaError):
    """An acknowledgement without an offset: nothing was stored (see `KafkaPublisher`)."""


#: Errors after which the producer's id and sequence numbers no longer match the broker's.
PRODUCER_STATE_ERRORS: Final = (
    PhantomAck,
    UnknownProducerIdError,
    OutOfOrderSequenceNumberError,
    DuplicateSequenceNumberError,
    InvalidProducerEpochError,
    InvalidProducerIdMappingError,
    ProducerFencedError,
    IllegalStateError,
    KafkaTimeoutError,
)


def has_producer_id(producer: Any) -> bool:
    """True once the producer holds a producer id and is in no error state."""
    manager = getattr(producer, "_transaction_manager", None)
    return manager is None or (manager.has_producer_id() and not manager.has_error())


#: How long a retired producer may take to fail or deliver what it still holds.
RETIRE_CLOSE_S: Final = 15.0


def close_retired(producer: Any, timeout_s: float = RETIRE_CLOSE_S) -> None:
    """Close a retired producer, releasing its sender thread and sockets in every case.

    kafka-python's `close` first flushes and raises `KafkaTimeoutError` when records are still
    pending, skipping the rest of the close; the pending records fail by their delivery timeout
    (each request already failed, so nothing waits on them), after which a second close
    completes. Should they not, the sender is closed by force.
    """
    for _ in range(2):
        try:
            producer.close(timeout=timeout_s)
        except KafkaTimeoutError:
            continue
        except Exception:  # a producer being thrown away: never raise here
            break
        return
    sender = getattr(producer, "_sender", None)
    if sender is not None:
        sender.force_close()


def close_in_background(producer: Any) -> None:
    """Close a retired producer without waiting for it (off the event loop)."""
    threading.Thread(
        target=close_retired, args=(producer,), name="retire-producer", daemon=True
    ).start()
