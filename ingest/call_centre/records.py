"""Pure framing of Amazon Connect contact-record bodies: object, list, NDJSON, Firehose envelope."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson

from schemas import InvalidEvent

MAX_BODY_BYTES: Final = 5 * 1024 * 1024
MAX_RECORDS: Final = 1000


def parse_records(raw: bytes) -> list[Any]:
    """One JSON object, a JSON list, or newline-delimited / concatenated JSON objects.

    A Kinesis Data Firehose HTTP-endpoint envelope (`{"requestId", "records": [{"data"}]}`)
    is unwrapped: each `data` is base64 of one or more records.
    """
    values = _json_values(raw, "body")
    if len(values) == 1 and isinstance(values[0], Mapping) and "records" in values[0]:
        envelope = values[0]
        items = envelope.get("records")
        if not isinstance(items, list):
            raise InvalidEvent("records: must be a list of {data} objects")
        values = []
        for index, item in enumerate(items):
            data = item.get("data") if isinstance(item, Mapping) else None
            if not isinstance(data, str):
                raise InvalidEvent(f"records[{index}].data: must be a base64 string")
            try:
                decoded = base64.b64decode(data, validate=True)
            except (binascii.Error, ValueError):
                raise InvalidEvent(f"records[{index}].data: is not valid base64") from None
            values.extend(_json_values(decoded, f"records[{index}].data"))
    records: list[Any] = []
    for value in values:
        records.extend(value if isinstance(value, list) else [value])
    if not records:
        raise InvalidEvent("body: no contact records")
    if len(records) > MAX_RECORDS:
        raise InvalidEvent(f"body: {len(records)} records is over the {MAX_RECORDS} limit")
    return records


def _json_values(raw: bytes, where: str) -> list[Any]:
    try:
        doc = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidEvent(f"{where}: is not UTF-8") from None
    decoder = json.JSONDecoder(parse_constant=_no_constant)
    values: list[Any] = []
    pos, end = 0, len(doc)
    while True:
        while pos < end and doc[pos] in " \t\r\n":
            pos += 1
        if pos >= end:
            return values
        if len(values) >= MAX_RECORDS:
            raise InvalidEvent(f"{where}: more than {MAX_RECORDS} records")
        try:
            value, pos = decoder.raw_decode(doc, pos)
        except (ValueError, RecursionError) as exc:
            raise InvalidEvent(f"{where}: record {len(values)} is not valid JSON: {exc}") from None
        values.append(value)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


@dataclass(frozen=True)
class FirehoseRecord:
    """One record of a Firehose delivery: its decoded bytes, or why they could not be read."""

    index: int
    data: bytes
    error: str | None = None


def firehose_records(envelope: Mapping[str, Any]) -> list[FirehoseRecord]:
    """The records of a Kinesis Data Firehose HTTP-endpoint delivery, each decoded alone, so
    one bad record never fails the others (the caller dead-letters it)."""
    items = envelope.get("records")
    if not isinstance(items, list):
        raise InvalidEvent("records: must be a list of {data} objects")
    if len(items) > MAX_RECORDS:
        raise InvalidEvent(f"records: {len(items)} records is over the {MAX_RECORDS} limit")
    found = []
    for index, item in enumerate(items):
        data = item.get("data") if isinstance(item, Mapping) else None
        if not isinstance(data, str):
            raw = orjson.dumps(item) if _json_safe(item) else repr(item).encode()
            found.append(FirehoseRecord(index, raw, "data: must be a base64 string"))
            continue
        try:
            found.append(FirehoseRecord(index, base64.b64decode(data, validate=True)))
        except (binascii.Error, ValueError):
            found.append(FirehoseRecord(index, data.encode(), "data: is not valid base64"))
    return found


def records_of(data: bytes, where: str) -> list[Any]:
    """The contact records in one Firehose record's bytes (one or more JSON values)."""
    values = _json_values(data, where)
    records: list[Any] = []
    for value in values:
        records.extend(value if isinstance(value, list) else [value])
    if not records:
        raise InvalidEvent(f"{where}: holds no contact record")
    return records


def _json_safe(item: Any) -> bool:
    try:
        orjson.dumps(item)
    except (orjson.JSONEncodeError, TypeError):
        return False
    return True
