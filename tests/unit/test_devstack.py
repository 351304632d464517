"""The dev stack's pure pieces: restart backoff and spool lines."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.devstack.backlog import SpooledRecord
from services.devstack.children import MAX_BACKOFF_S, STABLE_AFTER_S, Child


def test_restart_backoff_doubles_to_a_cap_and_starts_over_after_a_stable_run() -> None:
    child = Child("worker", ["true"], {})
    delays = []
    for _ in range(8):
        child.started_at = 100.0
        delays.append(child.schedule_restart(now=101.0))
    assert delays == [1, 2, 4, 8, 16, MAX_BACKOFF_S, MAX_BACKOFF_S, MAX_BACKOFF_S]
    child.started_at = 100.0
    assert child.schedule_restart(now=100.0 + STABLE_AFTER_S) == 1
    assert child.due(child.restart_at or 0) and not child.due((child.restart_at or 0) - 0.1)


@given(
    partition=st.integers(0, 1023),
    offset=st.integers(0, 2**40),
    key=st.none() | st.binary(max_size=64),
    value=st.binary(max_size=512),
    headers=st.lists(st.tuples(st.text(max_size=20), st.binary(max_size=40)), max_size=5),
    topic=st.sampled_from(["threadline.interactions", "threadline.deadletter"]),
)
def test_a_spooled_record_survives_its_line_byte_for_byte(
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes,
    headers: list[tuple[str, bytes]],
    topic: str,
) -> None:
    record = SpooledRecord(partition, offset, key, value, tuple(headers), topic)
    line = record.to_line()
    assert b"\n" not in line
    assert SpooledRecord.from_line(line) == record
