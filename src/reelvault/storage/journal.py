"""Crash-safe file operations: each import or deletion works in its own folder that holds a lock
and a manifest, so that start-up recovery can finish or undo what a crash interrupted.

The lock is an `flock` on a file inside the folder: it is released by the kernel when the
process dies, so a folder whose lock can be taken belongs to no running operation, even with
several workers sharing one media directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reelvault.storage.store import fsync_directory

logger = logging.getLogger("reelvault.journal")

LOCK = "lock"
STARTING_GRACE_SECONDS = 300
MANIFEST = "manifest.json"


@dataclass
class Operation:
    folder: Path
    _lock_fd: int
    # Names inside the folder that hold files moved out of the media tree (a deletion's trash):
    # never removed by a failed operation's exit, only by recovery or the operation itself.
    holding: set[str] = field(default_factory=set)
    is_settled: bool = False

    def hold(self, name: str) -> None:
        self.holding.add(name)

    def settled(self) -> None:
        """Nothing outside the folder depends on it any more (the failed steps were undone):
        a failed operation's folder may then go at once instead of waiting for recovery."""
        self.is_settled = True

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Record, durably, what the operation is about to do before it does it."""
        draft = self.folder / f"{MANIFEST}.draft"
        with draft.open("w") as handle:
            json.dump(manifest, handle)
            handle.flush()
            os.fsync(handle.fileno())
        draft.replace(self.folder / MANIFEST)
        fsync_directory(self.folder)

    def read_manifest(self) -> dict[str, Any] | None:
        return read_manifest(self.folder)

    def finish(self) -> None:
        """Remove the folder (and with it the record of the operation)."""
        shutil.rmtree(self.folder, ignore_errors=True)
        fsync_directory(self.folder.parent)
        self.release()

    def release(self) -> None:
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1


def read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / MANIFEST).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        # No manifest: the operation had not yet touched anything outside its folder.
        return None


@contextlib.contextmanager
def operation(parent: Path, label: str) -> Iterator[Operation]:
    """A fresh, locked folder under `parent`. Removed when the block ends, except after a
    failure that struck once the manifest was written and was not undone (`settled`): then
    the manifest and any trashed files stay for recovery, which alone can tell from the
    database whether they go back or go away. Removing them here lost a deletion's files
    whenever an unexpected error (or a cancellation) left its row in place."""
    folder = parent / f"{label}.{secrets.token_hex(6)}"
    folder.mkdir(parents=True)
    # The lock file gets its name only once it is locked, so recovery never finds it unlocked
    # while its operation is starting.
    draft = folder / f".{LOCK}"
    fd = os.open(draft, os.O_CREAT | os.O_RDWR, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.rename(draft, folder / LOCK)
    op = Operation(folder, fd)
    try:
        yield op
    except BaseException:
        if op.is_settled or op.read_manifest() is None:
            op.finish()
        else:
            _keep_for_recovery(op)
        raise
    else:
        op.finish()
    finally:
        op.release()


def _keep_for_recovery(op: Operation) -> None:
    """Drop the operation's own work files (an upload can be large), keep what recovery needs."""
    keep = {LOCK, MANIFEST, *op.holding}
    for entry in op.folder.iterdir():
        if entry.name not in keep:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
    logger.error("operation %s failed part-way: kept for recovery at the next start", op.folder)


@contextlib.contextmanager
def abandoned(parent: Path) -> Iterator[list[Operation]]:
    """The operation folders under `parent` that no living process holds, locked for recovery."""
    taken: list[Operation] = []
    try:
        for folder in sorted(p for p in parent.iterdir() if p.is_dir()) if parent.exists() else []:
            try:
                fd = os.open(folder / LOCK, os.O_RDWR)
            except FileNotFoundError:
                # Starting right now, or a crash before the lock existed (nothing inside
                # then): only a folder that has stayed lockless for a while is left over.
                if _age_seconds(folder) > STARTING_GRACE_SECONDS:
                    shutil.rmtree(folder, ignore_errors=True)
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            if not folder.exists():
                os.close(fd)
                continue
            taken.append(Operation(folder, fd))
        yield taken
    finally:
        for op in taken:
            op.release()


def _age_seconds(folder: Path) -> float:
    try:
        return time.time() - folder.stat().st_mtime
    except FileNotFoundError:
        return 0.0
