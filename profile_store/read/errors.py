"""Errors of the read path: a request the reads cannot answer as asked (the API's 400s)."""

from __future__ import annotations

from profile_store import ProfileStoreError


class QueryError(ProfileStoreError):
    """Base class for errors raised by the read queries."""


class InvalidCursor(QueryError):
    """A pagination cursor that this package did not produce (or that was altered)."""


class InvalidQuery(QueryError):
    """A query argument out of range: limit, naive datetimes, too many filter values."""


class AmbiguousIdentifier(QueryError):
    """An identifier typed without its scope matches customers in more than one scope
    (order 1001 of two shops): the caller must say which."""
