"""Worker authentication: `Authorization: Bearer rvk_...` on `/api/worker/...` only.

The user JWT auth leaves these paths alone (accounts.auth.WORKER_PATHS) and this middleware
guards them instead, so a user's token is 401 here and a worker key is 401 everywhere else.
The key is checked against the database on every request (one unique-index read on a short
connection of its own): a revoked key is refused at once, by every process."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import (
    AbstractAuthenticationMiddleware,
    AuthenticationResult,
    DefineMiddleware,
)
from litestar.types import ASGIApp
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from reelvault.workers.keys import digest, is_well_formed
from reelvault.workers.models import worker_key

# `last_used_at` is "last use, to the minute": written at most once a minute per key, so a
# busy worker's heartbeats are not each a write.
LAST_USE_RESOLUTION = timedelta(minutes=1)

_k = worker_key.c
_BY_DIGEST = select(_k.id, _k.name, _k.last_used_at).where(_k.key_hash == bindparam("digest"))
_TOUCH = (
    update(worker_key)
    .where(
        _k.id == bindparam("key_id"),
        or_(
            _k.last_used_at.is_(None),
            _k.last_used_at < bindparam("stale", type_=DateTimeUTC(timezone=True)),
        ),
    )
    .values(last_used_at=bindparam("now", type_=DateTimeUTC(timezone=True)))
)


@dataclass(frozen=True, slots=True)
class Worker:
    """The key a request proved: its id (recorded on the jobs it takes) and its name (logs)."""

    id: UUID
    name: str


class KeyCheck:
    """Checks keys against the app's engine. Shared, never copied: Litestar deep-copies a
    router's middleware definitions when it registers them, and an engine cannot be."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    def __deepcopy__(self, memo: dict[int, Any]) -> KeyCheck:
        return self

    async def __call__(self, key: str) -> Worker | None:
        return await authenticate_key(self.engine, key)


async def authenticate_key(engine: AsyncEngine, key: str) -> Worker | None:
    async with engine.connect() as connection:
        row = (await connection.execute(_BY_DIGEST, {"digest": digest(key)})).first()
        if row is None:
            return None
        now = datetime.now(UTC)
        if row.last_used_at is None or row.last_used_at < now - LAST_USE_RESOLUTION:
            await connection.execute(
                _TOUCH, {"key_id": row.id, "stale": now - LAST_USE_RESOLUTION, "now": now}
            )
            await connection.commit()
    return Worker(row.id, row.name)


class WorkerKeyAuthentication(AbstractAuthenticationMiddleware):
    def __init__(self, app: ASGIApp, check: KeyCheck) -> None:
        # Litestar skips OPTIONS and HEAD by default; every worker call is a POST anyway.
        super().__init__(app, exclude_http_methods=["OPTIONS"])
        self.check = check

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        scheme, _, key = header.strip().partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not is_well_formed(key):
            raise NotAuthorizedException("Send a worker key as Authorization: Bearer rvk_...")
        worker = await self.check(key)
        if worker is None:
            raise NotAuthorizedException("The worker key is unknown or was revoked")
        return AuthenticationResult(user=worker, auth=None)


def worker_key_auth(engine: AsyncEngine) -> DefineMiddleware:
    return DefineMiddleware(WorkerKeyAuthentication, check=KeyCheck(engine))
