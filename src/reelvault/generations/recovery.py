"""At start-up, finish or undo what a crash (or a failed undo) left behind, so that rows and
files agree again.

- an interrupted deletion whose row is still there is undone (files renamed back); one whose
  row is gone is finished (trashed files unlinked). An account's deletion asks the same of
  the account's row: its generations go with it, in the same transaction;
- an interrupted import whose row was never committed has its placed files removed;
- a folder without a manifest had not touched anything outside itself and is just removed.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from anyio import to_thread
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reelvault.accounts.models import User
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
                    row_exists = await _row_exists(session, manifest)
                    if manifest["action"] == "derive":
                        manifest["named"] = await _named_paths(session, manifest)
                    await to_thread.run_sync(_settle, store, op, manifest, row_exists)
                    logger.warning(
                        "recovered action=%s %s row_exists=%s",
                        manifest["action"],
                        _subject(manifest),
                        row_exists,
                    )
                await to_thread.run_sync(op.finish)
                recovered += 1
    return recovered


def _subject(manifest: dict[str, Any]) -> str:
    if "user_id" in manifest:
        return f"user_id={manifest['user_id']}"
    return f"generation_id={manifest['generation_id']}"


async def _row_exists(session: AsyncSession, manifest: dict[str, Any]) -> bool:
    """Whether the row the operation was about still exists (what decides its fate)."""
    if "user_id" in manifest:
        statement = select(User.id).where(User.id == UUID(manifest["user_id"]))
    else:
        statement = select(Generation.id).where(Generation.id == UUID(manifest["generation_id"]))
    found = await session.scalar(statement)
    await session.rollback()  # hold no transaction (nor, on SQLite, a snapshot) between folders
    return found is not None


async def _named_paths(session: AsyncSession, manifest: dict[str, Any]) -> list[str]:
    """The stored paths the operation's generation names now (none where it is gone)."""
    row = (
        await session.execute(
            select(
                Generation.video_path, Generation.thumbnail_path, Generation.storyboard_path
            ).where(Generation.id == UUID(manifest["generation_id"]))
        )
    ).first()
    await session.rollback()
    return [path for path in (row or ()) if path]


def _settle(
    store: MediaStore, op: journal.Operation, manifest: dict[str, Any], row_exists: bool
) -> None:
    placed: files.FileSet = manifest["files"]
    if manifest["action"] == "delete":
        trashed = {
            name: rel
            for name, rel in placed.items()
            if (op.folder / name).is_symlink() or (op.folder / name).exists()
        }
        if row_exists:
            files.restore_from_trash(store, op, trashed)
        else:
            files.purge_trash(store, op, trashed)
    elif manifest["action"] == "import" and not row_exists:
        files.remove_placed(store, placed)
    elif manifest["action"] == "derive":
        # Files made for an existing row (a storyboard): kept only where the row names them.
        named = set(manifest.get("named") or ())
        files.remove_placed(store, {k: rel for k, rel in placed.items() if rel not in named})
