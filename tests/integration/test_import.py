"""`threadline import`: native files through the real gateway and broker, bad rows isolated."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from kafka import KafkaConsumer

from ingest.settings import IngestSettings
from schemas.events import decode_event
from services.embedded import free_port
from services.importer import run_import
from tests.support.gateway import end_offsets, interactions_consumer, read_since, running_gateway

pytestmark = pytest.mark.integration

KEY = "integration-import-key"
SAMPLES = Path(__file__).resolve().parent.parent / "unit" / "ingest"


@pytest.fixture(scope="module")
def gateway_url(kafka_bootstrap: str) -> Iterator[str]:
    settings = IngestSettings(port=free_port(), kafka_bootstrap=kafka_bootstrap, write_keys=KEY)
    with running_gateway(settings) as url:
        yield url


@pytest.fixture(scope="module")
def consumer(kafka_bootstrap: str) -> Iterator[KafkaConsumer]:
    with interactions_consumer(kafka_bootstrap) as c:
        yield c


def cdr_row(n: int, phone: str, start: str = "2024-11-23 10:15:02") -> str:
    return (
        f'"","{phone}","6001","from-trunk","""Caller {n}"" <{phone}>","PJSIP/trunk-1",'
        f'"PJSIP/6001-2","Dial","PJSIP/6001,30","{start}","{start}","{start}",60,55,'
        f'"ANSWERED","DOCUMENTATION","{uuid.uuid4().int % 10**9}.{n}",""'
    )


def test_bad_rows_are_isolated_and_reported_the_rest_is_published(
    gateway_url: str, consumer: KafkaConsumer, tmp_path: Path
) -> None:
    phone = f"41555{uuid.uuid4().int % 10**5:05d}"
    rows = [cdr_row(n, phone) for n in range(7)]
    rows.insert(4, cdr_row(99, phone, start="yesterday at noon"))
    path = tmp_path / "Master.csv"
    path.write_text("\n".join(rows) + "\n")
    start = end_offsets(consumer)
    out = io.StringIO()
    code = run_import("asterisk-cdr", path, gateway_url, KEY, out=out)
    report = out.getvalue()
    assert code == 1, report
    assert "7 accepted, 1 rejected of 8" in report
    assert "rejected records (1-based): 5" in report
    assert "start" in report  # the reason names the field
    records = read_since(consumer, start, {f"phone:+1{phone}".encode()}, 7)
    assert len({decode_event(r.value).event_id for r in records}) == 7


def test_a_clean_file_exits_0(gateway_url: str, tmp_path: Path) -> None:
    sample = orjson.loads(
        (SAMPLES / "call_centre" / "samples" / "connect_voice_inbound.json").read_bytes()
    )
    lines = []
    for _ in range(3):
        sample["ContactId"] = str(uuid.uuid4())
        lines.append(orjson.dumps(sample))
    path = tmp_path / "contacts.ndjson"
    path.write_bytes(b"\n".join(lines))
    out = io.StringIO()
    assert run_import("amazon-connect", path, gateway_url, KEY, out=out) == 0, out.getvalue()
    assert "3 accepted, 0 rejected of 3" in out.getvalue()


def test_a_wrong_key_or_a_dead_gateway_stops_with_exit_3(gateway_url: str, tmp_path: Path) -> None:
    path = tmp_path / "Master.csv"
    path.write_text(cdr_row(1, "4155550100") + "\n")
    out = io.StringIO()
    assert run_import("asterisk-cdr", path, gateway_url, "wrong-key", out=out) == 3
    assert "write key" in out.getvalue()
    dead = f"http://127.0.0.1:{free_port()}"
    assert run_import("asterisk-cdr", path, dead, KEY, out=io.StringIO()) == 3
