"""Unified view API: FastAPI app serving canonical customer profiles and timelines to agents."""


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
