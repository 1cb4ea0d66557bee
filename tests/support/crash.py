"""Run one deletion or import in this process and kill the process (os._exit, so no `finally`
runs) at a chosen step: the closest thing to pulling the plug that a test can do.

    python -m tests.support.crash delete <generation_id> <owner_id> <step>
    python -m tests.support.crash import <source.mp4> <owner_id> <step>

Settings come from the REELVAULT_* environment.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from uuid import UUID

from reelvault.db import build_sqlalchemy_config
from reelvault.generations.services import GenerationService
from reelvault.settings import Settings
from reelvault.storage import files
from reelvault.storage.store import MediaStore

CRASHED = 77
DELETE_STEPS = (
    "after-manifest",
    "after-first-move",
    "before-commit",
    "after-commit",
    "after-first-unlink",
)
IMPORT_STEPS = ("after-placing", "after-commit")


def crash() -> None:
    os._exit(CRASHED)


def arm(step: str) -> None:
    real_replace = os.replace
    moves = {"count": 0}

    def replace(src: object, dst: object) -> None:
        if step == "after-manifest" and moves["count"] == 0:
            crash()
        real_replace(src, dst)
        moves["count"] += 1
        if step == "after-first-move" and moves["count"] == 1:
            crash()

    files.os.replace = replace  # type: ignore[attr-defined]
    real_delete = GenerationService.delete_row
    real_create = GenerationService.create

    async def delete(self: GenerationService, *args: object, **kwargs: object) -> object:
        if step == "before-commit":
            crash()
        result = await real_delete(self, *args, **kwargs)
        if step == "after-commit":
            crash()
        return result

    async def create(self: GenerationService, *args: object, **kwargs: object) -> object:
        if step == "after-placing":
            crash()
        result = await real_create(self, *args, **kwargs)
        if step == "after-commit":
            crash()
        return result

    GenerationService.delete_row = delete  # type: ignore[method-assign]
    GenerationService.create = create  # type: ignore[method-assign]
    real_unlink = Path.unlink

    def unlink(self: Path, missing_ok: bool = False) -> None:
        real_unlink(self, missing_ok=missing_ok)
        if step == "after-first-unlink" and ".trash" in self.parts:
            crash()

    Path.unlink = unlink  # type: ignore[method-assign]


async def main(action: str, subject: str, owner: str, step: str) -> None:
    settings = Settings.from_env()
    store = MediaStore(settings.media_root)
    config = build_sqlalchemy_config(settings)
    arm(step)
    async with config.get_session() as session:
        service = GenerationService(session=session, store=store)
        if action == "delete":
            await service.delete_for_owner(UUID(subject), UUID(owner))
        else:
            await service.import_file(UUID(owner), "Crash test import", Path(subject))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
    sys.exit(0)  # the step was never reached
