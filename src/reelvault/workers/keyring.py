"""Worker keys kept by the operator (the CLI): create, list, revoke."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from reelvault.errors import Conflict, InvalidValue, NotFound
from reelvault.workers.keys import digest, is_valid_name, new_key
from reelvault.workers.models import worker_key
from reelvault.workers.schemas import WorkerKeyInfo

_k = worker_key.c


async def create_key(session: AsyncSession, name: str) -> str:
    """A new key named `name`: returned once, kept only as its digest."""
    if not is_valid_name(name):
        raise InvalidValue(
            "A worker key's name is 1-100 letters, digits, '.', '_' or '-', starting with a "
            "letter or digit"
        )
    key = new_key()
    try:
        await session.execute(
            insert(worker_key).values(
                id=uuid4(), name=name, key_hash=digest(key), created_at=datetime.now(UTC)
            )
        )
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Conflict(f"A worker key named {name!r} exists already") from None
    return key


async def list_keys(session: AsyncSession) -> list[WorkerKeyInfo]:
    rows = (
        await session.execute(
            select(_k.name, _k.created_at, _k.last_used_at).order_by(_k.created_at, _k.name)
        )
    ).all()
    return [WorkerKeyInfo(row.name, row.created_at, row.last_used_at) for row in rows]


async def revoke_key(session: AsyncSession, name: str) -> None:
    """Delete the key: every process refuses it from its next request on."""
    deleted = await session.execute(delete(worker_key).where(_k.name == name))
    await session.commit()
    if deleted.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound(f"No worker key is named {name!r}")
