"""The file half of imports and deletions, run in worker threads. Each step is recorded in the
operation's manifest first, so `recovery` can always bring files and rows back into agreement."""

from __future__ import annotations

import logging
from pathlib import Path
from uuid import UUID

from reelvault.errors import StorageFailure
from reelvault.storage.journal import Operation
from reelvault.storage.store import MediaStore, fsync_directory

logger = logging.getLogger("reelvault.files")

FileSet = dict[str, str]  # kind ("video", "thumbnail") -> path relative to the media root


def place_imported(
    store: MediaStore, op: Operation, generation_id: UUID, video: Path, thumbnail: Path
) -> FileSet:
    """Move a prepared video and its thumbnail to their final names (atomic renames)."""
    placed: FileSet = {
        "video": store.video_relpath(generation_id),
        "thumbnail": store.thumbnail_relpath(generation_id),
    }
    op.write_manifest({"action": "import", "generation_id": str(generation_id), "files": placed})
    store.move(video, store.resolve(placed["video"]))
    store.move(thumbnail, store.resolve(placed["thumbnail"]))
    _sync_parents(store, placed)
    return placed


def remove_placed(store: MediaStore, placed: FileSet) -> None:
    for relpath in placed.values():
        store.remove(store.resolve(relpath), missing_ok=True)


def move_to_trash(
    store: MediaStore, op: Operation, generation_id: UUID, files: dict[str, str | None]
) -> tuple[FileSet, list[str]]:
    """Rename the generation's files into the operation folder. All or nothing: on a failure,
    what was moved goes back and `StorageFailure` is raised. Returns what moved and a report."""
    wanted: FileSet = {kind: rel for kind, rel in files.items() if rel}
    op.write_manifest({"action": "delete", "generation_id": str(generation_id), "files": wanted})
    moved: FileSet = {}
    report: list[str] = []
    try:
        for kind, relpath in wanted.items():
            source = store.resolve(relpath)
            if not source.exists():
                logger.warning(
                    "delete generation_id=%s %s already missing: %s", generation_id, kind, source
                )
                report.append(f"{kind}=already-missing")
                continue
            store.move(source, op.folder / kind)
            moved[kind] = relpath
            report.append(f"{kind}=trashed")
    except OSError as exc:
        logger.error("delete generation_id=%s could not move files: %s", generation_id, exc)
        restore_from_trash(store, op, moved)
        raise StorageFailure() from exc
    fsync_directory(op.folder)
    return moved, report


def restore_from_trash(store: MediaStore, op: Operation, moved: FileSet) -> None:
    for kind, relpath in moved.items():
        target = store.resolve(relpath)
        if not target.exists():
            store.move(op.folder / kind, target)
    _sync_parents(store, moved)


def purge_trash(store: MediaStore, op: Operation, moved: FileSet) -> list[str]:
    """Unlink trashed files. The row is already gone, so a failure here only leaves garbage in
    the trash, which recovery removes at the next start."""
    report = []
    for kind in moved:
        try:
            store.remove(op.folder / kind)
            report.append(f"{kind}=removed")
        except FileNotFoundError:
            report.append(f"{kind}=removed")
        except OSError as exc:
            logger.warning("trash %s could not be unlinked (kept for recovery): %s", kind, exc)
            report.append(f"{kind}=left-in-trash")
    return report


def _sync_parents(store: MediaStore, files: FileSet) -> None:
    for folder in {store.resolve(rel).parent for rel in files.values()}:
        fsync_directory(Path(folder))
