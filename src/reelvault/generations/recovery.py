"""At start-up, finish or undo what a crash left behind, so that rows and files agree again.

- an interrupted deletion whose row is still there is undone (files renamed back);
  one whose row is gone is finished (trashed files unlinked);
- an interrupted import whose row was never committed has its placed files removed;
- a folder without a manifest had not touched anything outside itself and is just removed.
"""

from __future__ import annotations

import logging
from uuid import UUID

from anyio import to_thread
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reelvault.generations.models import Generation
from reelvault.storage import files, journal
from reelvault.storage.store import MediaStore

logger = logging.getLogger("reelvault.recovery")


async def recover_interrupted_operations(session: AsyncSession, store: MediaStore) -> int:
    recovered = 0
    for parent in (store.trash_dir(), store.incoming_dir()):
        with journal.abandoned(parent) as operations:
            for op in operations:
                manifest = op.read_manifest()
                if manifest is not None:
                    generation_id = UUID(manifest["generation_id"])
                    row_exists = await _row_exists(session, generation_id)
                    await to_thread.run_sync(_settle, store, op, manifest, row_exists)
                    logger.warning(
                        "recovered action=%s generation_id=%s row_exists=%s",
                        manifest["action"],
                        generation_id,
                        row_exists,
                    )
                await to_thread.run_sync(op.finish)
                recovered += 1
    return recovered


async def _row_exists(session: AsyncSession, generation_id: UUID) -> bool:
    found = await session.scalar(select(Generation.id).where(Generation.id == generation_id))
    return found is not None


def _settle(store: MediaStore, op: journal.Operation, manifest: dict, row_exists: bool) -> None:
    placed: files.FileSet = manifest["files"]
    if manifest["action"] == "delete":
        trashed = {kind: rel for kind, rel in placed.items() if (op.folder / kind).exists()}
        if row_exists:
            files.restore_from_trash(store, op, trashed)
        else:
            files.purge_trash(store, op, trashed)
    elif manifest["action"] == "import" and not row_exists:
        files.remove_placed(store, placed)
