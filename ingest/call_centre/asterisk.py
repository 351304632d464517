"""Pure mapping of Asterisk `cdr_csv` Master.csv rows to canonical `call_centre` events.

Column order is cdr_csv's: accountcode, src, dst, dcontext, clid, channel, dstchannel,
lastapp, lastdata, start, answer, end, duration, billsec, disposition, amaflags, then
`uniqueid` (with `loguniqueid=yes`), `userfield` (`loguserfield=yes`) and `peeraccount`,
`linkedid`, `sequence` (`newcdrcolumns=yes`): 16, 17, 18, 19 or 21 columns. Times are local
time of the PBX (`usegmtime=no`), converted from the configured zone to UTC.

Direction: a party is internal when it is an extension of at most `INTERNAL_MAX_DIGITS`
digits (or empty / non-numeric like `s`). Internal caller and external callee is an outbound
call to the callee; otherwise the caller is the customer (inbound). Calls between two
internal parties, and calls whose customer number is not a possible phone number (withheld,
`anonymous`), name no customer: they are skipped and counted, not refused.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from ingest.call_centre.common import duration_text
from ingest.common import build_event, clip, try_identifier
from schemas import CanonicalEvent, Channel, InvalidEvent
from schemas.events import make_event_id
from schemas.identifiers import PHONE

SOURCE: Final = "asterisk"
MAX_BODY_BYTES: Final = 5 * 1024 * 1024
MAX_ROWS: Final = 10_000
INTERNAL_MAX_DIGITS: Final = 5
BASE_COLUMNS: Final = (
    "accountcode",
    "src",
    "dst",
    "dcontext",
    "clid",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "amaflags",
)
_NEW: Final = ("peeraccount", "linkedid", "sequence")
LAYOUTS: Final = {
    16: BASE_COLUMNS,
    17: (*BASE_COLUMNS, "uniqueid"),
    18: (*BASE_COLUMNS, "uniqueid", "userfield"),
    19: (*BASE_COLUMNS, *_NEW),
    21: (*BASE_COLUMNS, "uniqueid", "userfield", *_NEW),
}
DISPOSITIONS: Final = {
    "ANSWERED": "call_completed",
    "NO ANSWER": "call_missed",
    "BUSY": "call_missed",
    "FAILED": "call_missed",
    "CONGESTION": "call_missed",
}
_CLID: Final = re.compile(r'^\s*"?(?P<name>[^"<]*?)"?\s*<(?P<number>[^>]*)>\s*$')
_TIME_FORMAT: Final = "%Y-%m-%d %H:%M:%S"


@dataclass
class CdrResult:
    """The events of a Master.csv body and how many rows named no customer."""

    events: list[CanonicalEvent] = field(default_factory=list)
    skipped: int = 0


def parse_clid(clid: str) -> tuple[str | None, str | None]:
    """`"Jane Doe" <4155550100>` -> ("Jane Doe", "4155550100"); a bare value is the number."""
    match = _CLID.match(clid)
    if match is None:
        value = clid.strip().strip('"').strip()
        return None, value or None
    name, number = match["name"].strip(), match["number"].strip()
    return name or None, number or None


def is_internal(party: str) -> bool:
    """An extension (at most `INTERNAL_MAX_DIGITS` digits) or not a number at all."""
    digits = party.strip()
    return not digits.lstrip("+").isdigit() or (
        digits.isdigit() and len(digits) <= INTERNAL_MAX_DIGITS
    )


def map_csv(
    body: bytes, received_at: datetime, timezone: str = "UTC", default_region: str = "US"
) -> CdrResult:
    """Map every row, all or nothing: a malformed row raises `InvalidEvent` naming it."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidEvent("body: is not UTF-8") from None
    zone = ZoneInfo(timezone)
    result = CdrResult()
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise InvalidEvent(f"body: is not valid CSV: {exc}") from None
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if rows and [c.strip().lower() for c in rows[0][:3]] == ["accountcode", "src", "dst"]:
        rows = rows[1:]
    if not rows:
        raise InvalidEvent("body: no CDR rows")
    if len(rows) > MAX_ROWS:
        raise InvalidEvent(f"body: {len(rows)} rows is over the {MAX_ROWS} limit")
    for number, row in enumerate(rows, start=1):
        event = map_row(row, received_at, zone, default_region, where=f"row {number}")
        if event is None:
            result.skipped += 1
        else:
            result.events.append(event)
    return result


def map_row(
    row: list[str], received_at: datetime, zone: ZoneInfo, region: str, *, where: str = "row"
) -> CanonicalEvent | None:
    """One CDR row as an event, None when it names no customer (see the module docstring)."""
    layout = LAYOUTS.get(len(row))
    if layout is None:
        raise InvalidEvent(f"{where}: has {len(row)} columns, expected 16, 17, 18, 19 or 21")
    cdr = {name: value.strip() for name, value in zip(layout, row, strict=True)}
    for name, value in cdr.items():
        if len(value) > 1024 or "\x00" in value:
            raise InvalidEvent(f"{where}.{name}: is longer than 1024 characters or binary")
    kind = DISPOSITIONS.get(cdr["disposition"].upper())
    if kind is None:
        raise InvalidEvent(f"{where}.disposition: must be one of {', '.join(DISPOSITIONS)}")
    start = _local_time(cdr["start"], zone, f"{where}.start", required=True)
    assert start is not None
    answer = _local_time(cdr["answer"], zone, f"{where}.answer")
    end = _local_time(cdr["end"], zone, f"{where}.end")
    duration = _int(cdr["duration"], f"{where}.duration")
    billsec = _int(cdr["billsec"], f"{where}.billsec")
    caller_name, caller_number = parse_clid(cdr["clid"])
    caller = caller_number or cdr["src"]
    outbound = is_internal(caller) and not is_internal(cdr["dst"])
    if not outbound and is_internal(caller):
        return None
    customer = cdr["dst"] if outbound else caller
    phone = try_identifier(PHONE, customer, region)
    if phone is None:
        return None
    attrs: dict[str, object] = {
        "direction": "outbound" if outbound else "inbound",
        "disposition": cdr["disposition"].upper(),
        "duration_s": duration,
        "talk_s": billsec,
        "ring_s": max(duration - billsec, 0),
        "extension": cdr["src"] if outbound else cdr["dst"],
        "context": cdr["dcontext"],
        "channel": cdr["channel"],
        "dstchannel": cdr["dstchannel"],
        "last_app": cdr["lastapp"],
        "accountcode": cdr["accountcode"],
        "answered_at": answer.isoformat() if answer else None,
        "ended_at": end.isoformat() if end else None,
        "caller_name": None if outbound else caller_name,
        "uniqueid": cdr.get("uniqueid"),
        "linkedid": cdr.get("linkedid"),
        "userfield": cdr.get("userfield"),
    }
    attrs = {k: v for k, v in attrs.items() if v not in (None, "")}
    return build_event(
        where,
        event_id=_event_id(cdr, row),
        channel=Channel.CALL_CENTRE,
        kind=kind,
        occurred_at=start,
        received_at=received_at,
        source=SOURCE,
        identifiers=(phone,),
        summary=clip(_summary(kind, attrs)),
        attributes=attrs,
    )


def _event_id(cdr: dict[str, str], row: list[str]) -> str:
    """`uniqueid` (with `sequence` when logged: one channel can have several CDRs), else a
    hash of the whole row, so a re-sent file gives the same ids."""
    uniqueid = cdr.get("uniqueid")
    if uniqueid:
        sequence = cdr.get("sequence")
        return make_event_id(SOURCE, f"{uniqueid}-{sequence}" if sequence else uniqueid)
    digest = hashlib.sha256("\x1f".join(c.strip() for c in row).encode()).hexdigest()[:40]
    return make_event_id(SOURCE, f"row-{digest}")


def _local_time(
    value: str, zone: ZoneInfo, where: str, *, required: bool = False
) -> datetime | None:
    if not value:
        if required:
            raise InvalidEvent(f"{where}: is required")
        return None
    try:
        naive = datetime.strptime(value, _TIME_FORMAT)  # noqa: DTZ007 - zone applied below
    except ValueError:
        raise InvalidEvent(f"{where}: is not a time like 2024-11-23 10:15:02") from None
    return naive.replace(tzinfo=zone)


def _int(value: str, where: str) -> int:
    if not (value.isascii() and value.isdigit()) or len(value) > 9:
        raise InvalidEvent(f"{where}: must be a whole number of seconds")
    return int(value)


def _summary(kind: str, attrs: dict[str, object]) -> str:
    direction = attrs["direction"]
    if kind == "call_completed":
        talk = attrs["talk_s"]
        line = f"Call ({direction}, {duration_text(talk if isinstance(talk, int) else 0)})"
    else:
        line = f"Missed call ({direction}, {str(attrs['disposition']).lower()})"
    extension = attrs.get("extension")
    return (
        f"{line} {'from' if direction == 'outbound' else 'to'} ext {extension}"
        if extension
        else line
    )
