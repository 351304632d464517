"""Unified view API: FastAPI app serving canonical customer profiles and timelines to agents.

`routes/` holds one module per resource; `errors` the error classes, handlers and documented
error responses; `deps` the dependencies (the agent's audited read on the read pool, the
engine for the rest); `auth` API keys and roles; `app` puts them together.
"""


class ApiError(Exception):
    """Base class for errors the API turns into a JSON `{"error": {"code", "message"}}` body."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class ApiConfigError(ApiError):
    """The API cannot be built from the settings it was given."""
