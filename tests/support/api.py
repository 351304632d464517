"""An in-process API client over the real database, with API keys of chosen roles."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.settings import ApiSettings, hash_key
from services.embedded import free_port


@asynccontextmanager
async def api_client(
    database_url: str, engine: AsyncEngine, keys: Mapping[str, tuple[str, str]], use: str
) -> AsyncIterator[httpx.AsyncClient]:
    """`keys` maps a key to (name, role); requests carry the key `use` unless overridden."""
    settings = ApiSettings(
        database_url=database_url,
        kafka_bootstrap=f"127.0.0.1:{free_port()}",
        api_keys=[
            {"name": name, "role": role, "sha256": hash_key(key)}
            for key, (name, role) in keys.items()
        ],
    )
    app = create_app(settings, engine=engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://api.test",
        headers={"Authorization": f"Bearer {use}"},
    ) as client:
        yield client
