"""API-key authentication (`Authorization: Bearer <key>`, stored as sha256) and role checks."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Final

import structlog
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api import ApiError
from api.ratelimit import RateLimiter
from api.settings import ApiKey, Role

ROLE_RANK: Final[dict[Role, int]] = {"agent": 1, "admin": 2}
#: Longer bearer values are refused without hashing.
MAX_KEY_LENGTH: Final = 512


class Unauthorized(ApiError):
    """No API key, or one that matches no configured key (401)."""

    status_code = 401
    code = "unauthorized"

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ApiError):
    """A valid key whose role does not allow the request (403)."""

    status_code = 403
    code = "forbidden"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the configured key's name and role."""

    name: str
    role: Role


class KeyRing:
    """The configured key hashes; checks a presented key in constant time per stored hash."""

    def __init__(self, keys: Iterable[ApiKey]) -> None:
        self._keys = tuple((bytes.fromhex(k.sha256), Principal(k.name, k.role)) for k in keys)

    def __len__(self) -> int:
        return len(self._keys)

    def authenticate(self, presented: str | None) -> Principal:
        """The principal owning `presented`, or raise `Unauthorized`."""
        if not presented:
            raise Unauthorized("missing API key: send 'Authorization: Bearer <key>'")
        if len(presented) > MAX_KEY_LENGTH:
            raise Unauthorized("invalid API key")
        digest = hashlib.sha256(presented.encode("utf-8")).digest()
        found: Principal | None = None
        for stored, principal in self._keys:  # no early exit: every hash is compared
            if hmac.compare_digest(stored, digest):
                found = principal
        if found is None:
            raise Unauthorized("invalid API key")
        return found


def authorise(principal: Principal, required: Role) -> Principal:
    """`principal` if its role is at least `required` (admin includes agent), else `Forbidden`."""
    if ROLE_RANK[principal.role] < ROLE_RANK[required]:
        raise Forbidden(f"this needs role {required}; the key has role {principal.role}")
    return principal


_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key as a bearer token: `Authorization: Bearer <key>`.",
)


BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def current_principal(request: Request, credentials: BearerCredentials) -> Principal:
    """The authenticated caller (401 if the key is missing or unknown, 429 over its rate)."""
    keyring: KeyRing = request.app.state.keyring
    principal = keyring.authenticate(credentials.credentials if credentials else None)
    structlog.contextvars.bind_contextvars(principal=principal.name)
    limiter: RateLimiter = request.app.state.rate_limiter
    limiter.check(principal.name)
    return principal


def require(role: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting callers with at least `role`."""

    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        return authorise(principal, role)

    return dependency


AgentPrincipal = Annotated[Principal, Depends(require("agent"))]
AdminPrincipal = Annotated[Principal, Depends(require("admin"))]
