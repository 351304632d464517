"""What the embedded broker holds that the worker has not committed: counted, saved, replayed.

The broker keeps records in memory only, so whatever the worker has not yet committed when
the broker stops would be gone. At every stop (and before the broker is recycled or a stale
one from a crashed run is stopped) the supervisor reads those records and saves them to a
spool file in the data folder; the next start publishes them again before anything else
runs. Writes are idempotent on `event_id`, so a record that was in fact written already
adds nothing.

Tansu answers ListOffsets with the first offset of the last batch plus one, not the true end
of the partition; the end is read from a fetch's high watermark instead.
"""

from __future__ import annotations

import base64
import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import orjson
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from schemas import topics
from services import ServicesError

SPOOL_SUFFIX: Final = ".spool.ndjson"
#: What the worker consumes: a stop or recycle must not lose an uncommitted record of either.
BACKLOG_TOPICS: Final = (topics.INTERACTIONS, topics.DEADLETTER)
_POLL_MS: Final = 200


class BacklogError(ServicesError):
    """The backlog could not be read from the broker or published back to it."""


@dataclass(frozen=True)
class SpooledRecord:
    """One record as the broker held it."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    topic: str = topics.INTERACTIONS

    def to_line(self) -> bytes:
        """One JSON line (bytes as base64)."""
        return orjson.dumps(
            {
                "topic": self.topic,
                "partition": self.partition,
                "offset": self.offset,
                "key": _b64(self.key),
                "value": _b64(self.value),
                "headers": [[k, _b64(v)] for k, v in self.headers],
            }
        )

    @classmethod
    def from_line(cls, line: bytes) -> SpooledRecord:
        """Parse a line written by `to_line`."""
        data = orjson.loads(line)
        return cls(
            partition=int(data["partition"]),
            offset=int(data["offset"]),
            key=_unb64(data["key"]),
            value=_unb64(data["value"]) or b"",
            headers=tuple((str(k), _unb64(v) or b"") for k, v in data["headers"]),
            topic=str(data.get("topic") or topics.INTERACTIONS),
        )


class Backlog:
    """Reads a consumer group's uncommitted records: the interactions, and the dead letters
    the gateway publishes for the worker to store."""

    def __init__(self, bootstrap: str, group: str, names: tuple[str, ...] = BACKLOG_TOPICS) -> None:
        self.names = names
        common: dict[str, Any] = {
            "bootstrap_servers": bootstrap.split(","),
            "enable_auto_commit": False,
            "request_timeout_ms": 5000,
        }
        try:
            self._offsets = KafkaConsumer(group_id=group, client_id="threadline-dev-lag", **common)
            self._reader = KafkaConsumer(
                group_id=None, client_id="threadline-dev-reader", max_poll_records=5000, **common
            )
        except Exception as exc:  # kafka-python raises several unrelated types when down
            raise BacklogError(f"broker unreachable: {type(exc).__name__}") from None

    def partitions(self) -> list[TopicPartition]:
        """The topics' partitions (none of a topic that does not exist)."""
        return [
            TopicPartition(name, p)
            for name in self.names
            for p in sorted(self._reader.partitions_for_topic(name) or set())
        ]

    def committed(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        """The group's committed offsets (0 where it never committed)."""
        return {tp: int(self._offsets.committed(tp) or 0) for tp in tps}

    def ends(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        """The true end offset of each partition (see the module docstring)."""
        listed = self._reader.end_offsets(tps)
        ends = {tp: int(listed[tp]) for tp in tps}
        self._reader.assign(tps)
        self._reader.resume(*tps)
        for tp in tps:
            self._reader.seek(tp, max(0, ends[tp] - 1))
        for _ in range(25):
            batch = self._reader.poll(_POLL_MS)
            for tp, records in batch.items():
                ends[tp] = max(ends[tp], records[-1].offset + 1)
            highs = [(tp, self._reader.highwater(tp)) for tp in tps]
            for tp, high in highs:
                if high is not None:
                    ends[tp] = max(ends[tp], int(high))
            if not batch and all(high is not None for _, high in highs):
                break
        return ends

    def lag(self) -> int:
        """How many records the group has not committed yet."""
        tps = self.partitions()
        if not tps:
            return 0
        done, ends = self.committed(tps), self.ends(tps)
        return sum(max(0, ends[tp] - done[tp]) for tp in tps)

    def uncommitted(self, timeout_s: float = 10.0) -> Iterator[SpooledRecord]:
        """Every record after the group's committed offsets, partition by partition."""
        tps = self.partitions()
        if not tps:
            return
        done, ends = self.committed(tps), self.ends(tps)
        todo = {tp for tp in tps if ends[tp] > done[tp]}
        if not todo:
            return
        self._reader.assign(list(todo))
        self._reader.resume(*todo)
        for tp in todo:
            self._reader.seek(tp, done[tp])
        deadline = time.monotonic() + timeout_s
        while todo:
            if time.monotonic() > deadline:
                raise BacklogError(f"could not read the backlog within {timeout_s:g}s")
            for tp, records in self._reader.poll(_POLL_MS).items():
                for record in records:
                    if record.offset >= ends[tp]:
                        break
                    yield SpooledRecord(
                        topic=tp.topic,
                        partition=tp.partition,
                        offset=record.offset,
                        key=record.key,
                        value=record.value if record.value is not None else b"",
                        headers=tuple((k, v or b"") for k, v in record.headers or ()),
                    )
                if self._reader.position(tp) >= ends[tp]:
                    todo.discard(tp)
                    self._reader.pause(tp)

    def close(self) -> None:
        """Close both connections."""
        for client in (self._offsets, self._reader):
            with contextlib.suppress(Exception):
                client.close(autocommit=False)


def save_spool(spool_dir: Path, records: Iterator[SpooledRecord]) -> tuple[Path | None, int]:
    """Write the records to a new spool file (mode 600, fsynced); returns it and the count."""
    spool_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = spool_dir / f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}{SPOOL_SUFFIX}"
    partial = path.with_suffix(".partial")
    count = 0
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        for record in records:
            out.write(record.to_line() + b"\n")
            count += 1
        out.flush()
        os.fsync(out.fileno())
    if not count:
        partial.unlink()
        return None, 0
    partial.rename(path)
    return path, count


def spool_files(spool_dir: Path) -> list[Path]:
    """Spool files waiting to be replayed, oldest first."""
    if not spool_dir.is_dir():
        return []
    return sorted(spool_dir.glob(f"*{SPOOL_SUFFIX}"))


def replay_spools(spool_dir: Path, bootstrap: str) -> int:
    """Publish every spooled record again (acks=all, in its partition's order), deleting each
    file once all of it is acknowledged with a real offset; returns the records replayed."""
    files = spool_files(spool_dir)
    if not files:
        return 0
    producer = KafkaProducer(
        bootstrap_servers=bootstrap.split(","),
        client_id="threadline-dev-replay",
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
    )
    total = 0
    try:
        for path in files:
            futures = []
            with path.open("rb") as spooled:
                for line in spooled:
                    if line.strip():
                        rec = SpooledRecord.from_line(line)
                        futures.append(
                            producer.send(
                                rec.topic, key=rec.key, value=rec.value, headers=list(rec.headers)
                            )
                        )
            producer.flush(30)
            for future in futures:
                if future.get(timeout=30).offset < 0:
                    raise BacklogError(f"the broker did not store a record of {path.name}")
            path.unlink()
            total += len(futures)
    finally:
        producer.close(timeout=5)
    return total


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode()


def _unb64(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)
