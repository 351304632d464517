"""Exceptions raised by the schemas package."""


class SchemasError(Exception):
    """Base class for every error raised by `schemas`."""


class InvalidIdentifier(SchemasError):
    """A value cannot be an identifier of the given type; the message says why."""


class InvalidEvent(SchemasError):
    """A payload is not a valid canonical event; the message names the problem."""


class EventTooLarge(InvalidEvent):
    """A payload is over a size or count limit (HTTP transports answer 413)."""
