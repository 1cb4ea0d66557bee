"""Run one deletion or import in this process and kill the process (os._exit, so no `finally`
runs) at a chosen step: the closest thing to pulling the plug that a test can do.

    python -m tests.support.crash delete <generation_id> <owner_id> <step>
    python -m tests.support.crash import <source.mp4> <owner_id> <step>
    python -m tests.support.crash close - <owner_id> <step>      (the account's deletion)

Settings come from the REELVAULT_* environment.
"""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from reelvault.accounts.models import User
from reelvault.db import build_sqlalchemy_config
from reelvault.generations.models import Generation
from reelvault.generations.services import GenerationService
from reelvault.settings import Settings
from reelvault.storage.backend import S3Backend, build_backend
from reelvault.storage.store import TRASH, MediaStore

CRASHED = 77
DELETE_STEPS = (
    "after-manifest",
    "after-first-move",
    "before-commit",
    "after-commit",
    "after-first-unlink",
)
# after-first-move: between the import's two renames (the video placed, not its thumbnail).
IMPORT_STEPS = ("after-first-move", "after-placing", "after-commit")
# On s3 only the service's own steps exist: an import's objects are up at after-placing.
S3_DELETE_STEPS = ("before-commit", "after-commit")
S3_IMPORT_STEPS = ("after-placing", "after-commit")


def crash() -> None:
    os._exit(CRASHED)


@dataclass(frozen=True)
class CrashingStore(MediaStore):
    """The real store, but the process dies at the file step named `step`."""

    step: str = ""

    def move(self, source: Path, target: Path) -> None:
        if self.step == "after-manifest":
            crash()
        super().move(source, target)
        if self.step == "after-first-move":
            crash()

    def remove(self, path: Path, *, missing_ok: bool = False) -> None:
        super().remove(path, missing_ok=missing_ok)
        if self.step == "after-first-unlink" and TRASH in path.parts:
            crash()


class CrashingService(GenerationService):
    """The real service, but the process dies just before or after the step that commits."""

    def __init__(self, session: AsyncSession, *, step: str, **kwargs: Any) -> None:
        super().__init__(session, **kwargs)
        self.step = step

    async def commit_deletion(self) -> None:
        if self.step == "before-commit":
            crash()
        await super().commit_deletion()
        if self.step == "after-commit":
            crash()

    async def create(self, *args: Any, **kwargs: Any) -> Generation:
        if self.step == "after-placing":
            crash()
        return await super().create(*args, **kwargs)

    async def commit_import(self) -> None:
        await super().commit_import()
        if self.step == "after-commit":
            crash()


async def drop_account(session: AsyncSession, owner: UUID) -> None:
    await session.execute(delete(User).where(User.id == owner))


async def main(action: str, subject: str, owner: str, step: str) -> None:
    settings = Settings.from_env()
    store = CrashingStore(settings.media_root, step=step)
    config = build_sqlalchemy_config(settings)
    # The configured backend: on s3 only the service's steps are met (there is no rename).
    backend = build_backend(settings, store, config.get_session)
    if isinstance(backend, S3Backend):
        await backend.objects.open()  # no sweeper: the restart after the crash runs it
    async with config.get_session() as session:
        service = CrashingService(session, store=store, backend=backend, step=step)
        if action == "delete":
            await service.delete_for_owner(UUID(subject), UUID(owner))
        elif action == "close":
            await service.delete_library(UUID(owner), lambda: drop_account(session, UUID(owner)))
        else:
            await service.import_file(UUID(owner), "Crash test import", Path(subject))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
    sys.exit(0)  # the step was never reached
