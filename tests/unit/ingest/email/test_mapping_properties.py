"""Property tests: whatever bytes arrive, the email mapping returns events or InvalidEvent."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.email.mapping import map_email
from schemas import CanonicalEvent, InvalidEvent
from schemas.events import decode_event

RECEIVED = datetime(2026, 1, 1, tzinfo=UTC)
SAMPLES = [p.read_bytes() for p in sorted(Path(__file__).with_name("samples").glob("*.eml"))]
#: Fragments that exercise the header and MIME parsers' edge cases.
TOKENS = [
    b"<", b">", b"=?", b"?=", b"=?utf-8?b?", b"=?x-unknown?q?", b'"', b"\\", b"(", b")",
    b",", b"@", b":", b";", b"\r\n", b"\n ", b"\xff", b"\x00", b"[", b"]", b"--b1_alt",
    b"Content-Type: multipart/mixed; boundary=", b"charset=", b"=\r\n", b"\r\n\r\n",
]  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(1, 8))):
        pos = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["flip", "insert", "delete"]))
        if op == "flip" and data:
            data[min(pos, len(data) - 1)] = draw(st.integers(0, 255))
        elif op == "insert":
            data[pos:pos] = draw(st.sampled_from(TOKENS) | st.binary(max_size=12))
        else:
            del data[pos : pos + draw(st.integers(1, 40))]
    return bytes(data)


def check(data: bytes) -> None:
    try:
        events = map_email(data, RECEIVED, company_domains=("shop.io",))
    except InvalidEvent:
        return
    assert events
    for event in events:
        assert isinstance(event, CanonicalEvent)
        assert decode_event(event.to_json()) == event


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_samples_map_or_raise_invalid_event(data: bytes) -> None:
    check(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_map_or_raise_invalid_event(data: bytes) -> None:
    check(data)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                ["From", "To", "Cc", "Subject", "Date", "Message-ID", "References",
                 "In-Reply-To", "Content-Type", "Content-Transfer-Encoding"]
            ),
            st.text(max_size=60),
        ),
        max_size=8,
    ),
    st.text(max_size=200),
)  # fmt: skip
def test_random_headers_map_or_raise_invalid_event(
    headers: list[tuple[str, str]], body: str
) -> None:
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    check((head + "\r\n" + body).encode("utf-8", "surrogatepass"))
