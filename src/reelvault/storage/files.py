"""The file half of imports and deletions, run in worker threads. Each step is recorded in the
operation's manifest first, so `recovery` can always bring files and rows back into agreement.

An operation that fails part-way undoes its own file steps when it can and then marks itself
settled; where the undo fails too, its folder (manifest and trashed files) is kept, and the
next start's recovery finishes the job from the database's answer."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from uuid import UUID

from reelvault.errors import StorageFailure
from reelvault.storage.journal import Operation
from reelvault.storage.store import MediaStore, OutsideMediaDirectory

logger = logging.getLogger("reelvault.files")

FileSet = dict[str, str]  # name in the trash ("video", "<id>.thumbnail") -> path under the root


def place_files(
    store: MediaStore,
    op: Operation,
    generation_id: UUID,
    paths: dict[str, Path],
    names: FileSet,
    *,
    action: str = "import",
) -> FileSet:
    """Move prepared files (kind -> path) to their final names (kind -> path under the root),
    by atomic renames. All or nothing: a failure after the first rename takes back what moved,
    and `StorageFailure` is raised. `action` tells recovery what the files were for: an
    `import` whose row never committed, or files `derive`d for a row that already exists
    (kept only where the row names them)."""
    placed: FileSet = dict(names)
    op.write_manifest({"action": action, "generation_id": str(generation_id), "files": placed})
    try:
        for kind, source in paths.items():
            store.move(source, store.resolve(placed[kind]))
        _sync_parents(store, placed)
    except OSError as exc:
        logger.error("import generation_id=%s could not place its files: %s", generation_id, exc)
        remove_placed(store, placed, op)  # a failure here keeps the manifest for recovery
        raise StorageFailure("The video could not be stored; nothing was kept") from exc
    return placed


def remove_placed(store: MediaStore, placed: FileSet, op: Operation | None = None) -> None:
    """Unlink an import's placed files (its row was never committed); with its operation,
    mark that operation settled once they are gone."""
    for relpath in placed.values():
        store.remove(store.resolve(relpath), missing_ok=True)
    if op is not None:
        op.settled()


def move_to_trash(
    store: MediaStore, op: Operation, manifest: dict[str, Any], wanted: FileSet
) -> tuple[FileSet, list[str]]:
    """Rename files into the operation folder, each under its name in `wanted`, after
    recording `manifest` (with `wanted` as its files). All or nothing: on a failure, what
    moved goes back and `StorageFailure` is raised. Returns what moved and a report.

    A symbolic link is moved as the link: its target, which may be anyone's, is never touched."""
    op.write_manifest({**manifest, "action": "delete", "files": wanted})
    moved: FileSet = {}
    report: list[str] = []
    try:
        for name, relpath in wanted.items():
            source = store.resolve(relpath)
            if not source.is_symlink() and not source.exists():
                logger.warning("delete %s already missing: %s", name, source)
                report.append(f"{name}=already-missing")
                continue
            op.hold(name)
            store.move(source, op.folder / name)
            moved[name] = relpath
            report.append(f"{name}=trashed")
        store.sync(op.folder)
    except (OSError, OutsideMediaDirectory) as exc:
        logger.error("delete %s could not move its files: %s", manifest, exc)
        restore_from_trash(store, op, moved)  # a failure here keeps the folder for recovery
        raise StorageFailure() from exc
    return moved, report


def restore_from_trash(store: MediaStore, op: Operation, moved: FileSet) -> None:
    """Put trashed files back (their rows stay), then mark the operation settled."""
    for name, relpath in moved.items():
        target = store.resolve(relpath)
        trashed = op.folder / name
        present = target.is_symlink() or target.exists()
        if not present and (trashed.is_symlink() or trashed.exists()):
            store.move(trashed, target)
    _sync_parents(store, moved)
    op.settled()


def purge_trash(store: MediaStore, op: Operation, moved: FileSet) -> list[str]:
    """Unlink trashed files. The rows are already gone, so a failure here only leaves garbage
    in the trash, which recovery removes at the next start."""
    report = []
    for name in moved:
        try:
            store.remove(op.folder / name)
            report.append(f"{name}=removed")
        except FileNotFoundError:
            report.append(f"{name}=removed")
        except OSError as exc:
            logger.warning("trash %s could not be unlinked (kept for recovery): %s", name, exc)
            report.append(f"{name}=left-in-trash")
    return report


def _sync_parents(store: MediaStore, files: FileSet) -> None:
    for folder in {store.resolve(rel).parent for rel in files.values()}:
        store.sync(folder)
