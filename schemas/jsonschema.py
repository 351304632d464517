"""JSON Schema of the canonical event, exported to a committed file that tests keep in sync."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from schemas.events import CanonicalEvent

SCHEMA_FILE = Path(__file__).with_name("canonical_event.schema.json")


def canonical_event_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of `CanonicalEvent`."""
    schema = CanonicalEvent.model_json_schema(mode="serialization")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def render_schema() -> bytes:
    """The schema as the committed file holds it: sorted keys, indented, trailing newline."""
    return (
        orjson.dumps(canonical_event_schema(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
        + b"\n"
    )


def write_schema(path: Path = SCHEMA_FILE) -> Path:
    """Write the schema file (used by `threadline schema`)."""
    path.write_bytes(render_schema())
    return path
