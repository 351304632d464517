"""Canonical contracts shared by every Threadline component: events, identifiers, topics."""

from schemas.errors import InvalidEvent, InvalidIdentifier, SchemasError
from schemas.events import SCHEMA_VERSION, CanonicalEvent, Channel
from schemas.identifiers import REFERENCE_TYPES, Identifier, normalise_identifier

__all__ = [
    "REFERENCE_TYPES",
    "SCHEMA_VERSION",
    "CanonicalEvent",
    "Channel",
    "Identifier",
    "InvalidEvent",
    "InvalidIdentifier",
    "SchemasError",
    "normalise_identifier",
]
