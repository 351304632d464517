"""The gateway's partitioner places every key where kafka-python's default one does."""

from __future__ import annotations

from typing import Any

from kafka.partitioner.default import DefaultPartitioner

from ingest.producer_state import KeyHashCachingPartitioner


class _Cluster:
    def __init__(self, partitions: set[int]) -> None:
        self.partitions = partitions

    def topics(self) -> set[str]:
        return {"t"}

    def partitions_for_topic(self, topic: str) -> set[int]:
        return self.partitions

    def available_partitions_for_topic(self, topic: str) -> set[int]:
        return self.partitions


def test_same_partition_as_the_default_partitioner_for_every_key() -> None:
    keys = [f"email:person{n}@example.com".encode() for n in range(500)]
    keys += [b"", b"x", b"user_id:\xe2\x9c\x93", bytearray(b"anonymous_id:abc")]  # type: ignore[list-item]
    default, cached = DefaultPartitioner(), KeyHashCachingPartitioner()
    for count in (1, 3, 4, 12):
        cluster: Any = _Cluster(set(range(count)))
        for key in keys * 2:  # the second pass hits the cache
            expected = default.partition("t", key, key, b"v", b"v", cluster)
            assert cached.partition("t", key, key, b"v", b"v", cluster) == expected


def test_records_without_a_key_still_go_to_some_partition() -> None:
    cluster: Any = _Cluster({0, 1, 2, 3})
    assert KeyHashCachingPartitioner().partition("t", None, None, b"v", b"v", cluster) in {
        0,
        1,
        2,
        3,
    }
