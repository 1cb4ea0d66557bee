"""Intent records: how the object store and the database stay in agreement without a rename.

An object store has no rename and no transaction, so the database is the one commit point and
every object is written or removed only under a row of `storage_intent` that says so:

- **put** (an import, a worker's result, a derived file): the intent naming the new, never
  reused keys commits *before* the first byte goes up. The row of the generation commits in
  the same transaction that deletes the intent. An intent still there after the grace period
  belongs to a process that died (or a store that failed) part-way: the sweeper deletes the
  intent first (whoever deletes it owns the keys: an import still running then finds it gone
  and gives up), then its objects. So: no row without its objects, and, once swept, no object
  without its row.
- **delete** (a deletion, an account closed): the intent commits in the transaction that
  deletes the rows, so the deletion is all or nothing as the owner sees it; the objects go
  right after, and where the store fails the sweeper retries until they are gone (rolling
  forward: deleting an object is idempotent, putting one back is not possible without its
  bytes). A 404 from the store counts as done.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal
from uuid import UUID, uuid4

from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import Column, Index, String, Table, Text, bindparam, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from reelvault.accounts.models import User

Action = Literal["put", "delete"]

storage_intent = Table(
    "storage_intent",
    User.metadata,
    Column("id", GUID(), primary_key=True),
    Column("action", String(8), nullable=False),
    # A JSON list of object keys (without the configured prefix).
    Column("object_keys", Text, nullable=False),
    Column("created_at", DateTimeUTC(timezone=True), nullable=False),
    Index("ix_storage_intent_action_created_at", "action", "created_at"),
)

_t = storage_intent.c
_TAKE = delete(storage_intent).where(_t.id == bindparam("intent_id")).returning(_t.object_keys)


async def record(session: AsyncSession, action: Action, keys: Sequence[str]) -> UUID:
    """Add an intent to the session's transaction (the caller commits)."""
    intent_id = uuid4()
    await session.execute(
        insert(storage_intent).values(
            id=intent_id,
            action=action,
            object_keys=json.dumps(list(keys)),
            created_at=datetime.now(UTC),
        )
    )
    return intent_id


async def take(session: AsyncSession, intent_id: UUID) -> bool:
    """Delete one intent in the session's transaction: True where it was still there (this
    caller owns its keys), False where the sweeper or another caller took it first."""
    return (await session.execute(_TAKE, {"intent_id": intent_id})).first() is not None


async def stale(
    session: AsyncSession, *, put_grace_seconds: int, limit: int = 100
) -> list[tuple[UUID, Action, list[str]]]:
    """Intents for the sweeper: every delete intent (its rows are gone already) and put
    intents older than the grace period, oldest first."""
    cutoff = datetime.now(UTC) - timedelta(seconds=put_grace_seconds)
    rows = (
        await session.execute(
            select(_t.id, _t.action, _t.object_keys)
            .where((_t.action == "delete") | (_t.created_at < cutoff))
            .order_by(_t.created_at)
            .limit(limit)
        )
    ).all()
    return [(row.id, row.action, json.loads(row.object_keys)) for row in rows]
