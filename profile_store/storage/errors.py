"""The store's own exceptions, and the one translation of driver errors into them.

Callers (the worker, the API, the CLI) never see SQLAlchemy or psycopg exceptions: whatever
reaches PostgreSQL does so inside `store_errors` (or a connection helper built on it), which
raises instead:

- `StoreUnavailable`: the database is unreachable, restarting or refusing connections, a
  connection broke under a statement, a statement was cancelled, or no pooled connection came
  in time. Nothing about the request is wrong: retry later (the worker retries with backoff,
  the API answers 503).
- `StoreRefused`: the database refused the data itself (a constraint, an encoding, a value out
  of range, a statement it cannot run). Retrying the same input changes nothing. Its message
  names the condition and SQLSTATE only, never a value from the input.
- `IdentityBusy` (raised by `profile_store.storage.locks`): the customers an operation touches
  kept changing while it tried to lock them: retry.

Any other exception is a bug and passes through unchanged.
"""

from __future__ import annotations

from types import TracebackType

import psycopg
from sqlalchemy import exc as sa_exc

from profile_store import ProfileStoreError


class StoreUnavailable(ProfileStoreError):
    """The database cannot be reached right now; retry later."""


class StoreRefused(ProfileStoreError):
    """The database refused the data itself; retrying the same input will not help."""

    def __init__(self, condition: str, sqlstate: str | None) -> None:
        detail = f" (SQLSTATE {sqlstate})" if sqlstate else ""
        super().__init__(f"the database refused the data: {condition}{detail}")
        self.condition, self.sqlstate = condition, sqlstate


class IdentityBusy(ProfileStoreError):
    """The customers an operation touches kept changing under it; retry."""


def _driver_error(exc: BaseException) -> BaseException:
    """The DB-API exception under a SQLAlchemy wrapper, else `exc` itself."""
    if isinstance(exc, sa_exc.DBAPIError) and isinstance(exc.orig, BaseException):
        return exc.orig
    return exc


def translate(exc: BaseException) -> BaseException:
    """The store's exception for `exc` (itself when it is already one, or a bug)."""
    if isinstance(exc, ProfileStoreError):
        return exc
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return StoreUnavailable(f"the database connection broke ({type(exc).__name__})")
    driver = _driver_error(exc)
    sqlstate = getattr(driver, "sqlstate", None)
    if isinstance(driver, psycopg.DatabaseError) and str(sqlstate or "").startswith("54"):
        # Program limit exceeded (an index row too large, a statement too complex): an
        # OperationalError by class, but caused by the data; retrying would never end.
        return StoreRefused(type(driver).__name__, sqlstate)
    if isinstance(
        exc,
        sa_exc.OperationalError
        | sa_exc.InterfaceError
        | sa_exc.TimeoutError
        | psycopg.OperationalError
        | psycopg.InterfaceError
        | OSError
        | TimeoutError,
    ):
        return StoreUnavailable(f"the database is unavailable ({type(exc).__name__})")
    if isinstance(exc, sa_exc.DBAPIError | psycopg.DatabaseError) and isinstance(
        driver, psycopg.DatabaseError
    ):
        return StoreRefused(type(driver).__name__, driver.sqlstate)
    if isinstance(exc, sa_exc.DBAPIError):
        return StoreRefused(type(exc).__name__, None)
    return exc


class _StoreErrors:
    """`with store_errors:` / `async with store_errors:` translates what escapes the block."""

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None and isinstance(exc, Exception):
            mapped = translate(exc)
            if mapped is not exc:
                raise mapped from exc

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(kind, exc, tb)


#: The storage boundary: driver errors raised inside it leave as the store's own exceptions.
store_errors = _StoreErrors()
