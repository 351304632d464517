"""Walk a FastAPI app's routes, including those of included routers (FastAPI nests them)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def walk(routes: list[Any]) -> Iterator[Any]:
    """Every leaf route of `app.routes`."""
    for route in routes:
        nested = getattr(route, "effective_candidates", None)
        if callable(nested):
            yield from walk(nested())
        else:
            yield route
