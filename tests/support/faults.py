"""Steps that fail on purpose: a media store handed to an app with `create_app(store=...)`, and
a database that refuses one commit."""

from __future__ import annotations

import contextlib
import errno
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from uuid import UUID

from sqlalchemy import Column, ForeignKey, MetaData, Table, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from reelvault.generations.models import Generation
from reelvault.storage.store import MediaStore


@dataclass(frozen=True)
class FailingStore(MediaStore):
    """The real store, except that one step fails as a disk that refuses it would: every `step`
    ("move", "remove" or "sync") whose target matches the glob `target` raises PermissionError
    (a sync, EIO). A move's target is its destination, a sync's the folder; globs match from
    the right (".trash/*/thumbnail" is the thumbnail's move into a deletion's trash folder)."""

    step: Literal["move", "remove", "sync"] = "move"
    target: str = "*"

    def move(self, source: Path, target: Path) -> None:
        self._refuse("move", target)
        super().move(source, target)

    def remove(self, path: Path, *, missing_ok: bool = False) -> None:
        self._refuse("remove", path)
        super().remove(path, missing_ok=missing_ok)

    def sync(self, folder: Path) -> None:
        if self.step == "sync" and folder.match(self.target):
            raise OSError(errno.EIO, "Input/output error", str(folder))
        super().sync(folder)

    def _refuse(self, step: str, path: Path) -> None:
        if step == self.step and path.match(self.target):
            raise PermissionError(13, "Permission denied", str(path))


@contextlib.asynccontextmanager
async def deleting_cannot_commit(engine: AsyncEngine, generation_id: str) -> AsyncIterator[None]:
    """Until the block ends, a transaction that deletes this generation fails at its COMMIT,
    as if the database went away then: a scratch table refers to the row through a foreign key
    checked only at commit (DEFERRABLE INITIALLY DEFERRED, on SQLite and PostgreSQL alike)."""
    generations = Generation.__table__
    guard = Table(
        "test_commit_guard",
        MetaData(),
        Column(
            "generation_id",
            generations.c.id.type,
            ForeignKey(generations.c.id, deferrable=True, initially="DEFERRED"),
        ),
    )
    async with engine.begin() as connection:
        await connection.run_sync(guard.create)
        await connection.execute(insert(guard).values(generation_id=UUID(generation_id)))
    try:
        yield
    finally:
        async with engine.begin() as connection:
            await connection.run_sync(guard.drop)
