"""Where media files live inside the media directory, the rules that they never leave it and
are never reached through a symbolic link, and the file operations that imports and deletions
are made of (a rename, an unlink, a directory sync)."""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from uuid import UUID

VIDEOS = "videos"
THUMBNAILS = "thumbnails"
STORYBOARDS = "storyboards"
INCOMING = ".incoming"
TRASH = ".trash"

_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC


class OutsideMediaDirectory(ValueError):
    """A stored path points outside the media directory (tampered row or bad migration)."""


class SymlinkInMediaPath(OutsideMediaDirectory):
    """A stored path passes through a symbolic link (the file or a folder on the way): it
    could lead to another user's file, even one inside the media directory."""


@dataclass(frozen=True)
class MediaStore:
    root: Path

    def prepare(self) -> None:
        for folder in (VIDEOS, THUMBNAILS, STORYBOARDS, INCOMING, TRASH):
            (self.root / folder).mkdir(parents=True, exist_ok=True)

    @staticmethod
    def video_relpath(generation_id: UUID) -> str:
        return f"{VIDEOS}/{generation_id}.mp4"

    @staticmethod
    def thumbnail_relpath(generation_id: UUID) -> str:
        return f"{THUMBNAILS}/{generation_id}.jpg"

    def resolve(self, relpath: str) -> Path:
        """The absolute path of a stored relative path: refused if it leaves the root or a
        folder on the way is a symbolic link. The last component is not followed either: a
        link there is renamed or unlinked as the link, and `open` refuses it."""
        parts = _parts(relpath)
        folder = self.root
        for part in parts[:-1]:
            folder = folder / part
            if folder.is_symlink():
                raise SymlinkInMediaPath(relpath)
        return folder / parts[-1]

    def open(self, relpath: str) -> tuple[BinaryIO, os.stat_result]:
        """Open a stored regular file for reading, with its metadata, never through a symbolic
        link: each folder is opened relative to the last with O_NOFOLLOW, so a link swapped
        in after a check cannot be followed either. The caller owns (closes) the file.

        FileNotFoundError where there is no regular file; SymlinkInMediaPath for a link."""
        parts = _parts(relpath)
        # The root itself is configuration, trusted (it may be a mount reached by a link).
        folder = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for part in parts[:-1]:
                inner = _open_at(part, _DIRECTORY, folder, relpath)
                os.close(folder)
                folder = inner
            fd = _open_at(parts[-1], _FILE, folder, relpath)
        finally:
            os.close(folder)
        handle = open(fd, "rb", buffering=0)  # noqa: SIM115 (handed to the caller)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise FileNotFoundError(errno.ENOENT, "not a regular file", relpath)
        except BaseException:
            handle.close()
            raise
        return handle, info  # type: ignore[return-value]

    def exists(self, relpath: str | None) -> bool:
        """A regular file that `open` would serve: no symbolic link anywhere on the way."""
        if not relpath:
            return False
        try:
            return stat.S_ISREG(self.resolve(relpath).lstat().st_mode)
        except (OutsideMediaDirectory, OSError):
            return False

    def incoming_dir(self) -> Path:
        return self.root / INCOMING

    def trash_dir(self) -> Path:
        return self.root / TRASH

    # Every rename, unlink and directory sync of `storage.files` goes through these methods,
    # so a store that fails (or crashes) at one named step can be handed to the app.
    def move(self, source: Path, target: Path) -> None:
        """Rename `source` to `target` atomically, replacing what `target` named."""
        os.replace(source, target)

    def remove(self, path: Path, *, missing_ok: bool = False) -> None:
        path.unlink(missing_ok=missing_ok)

    def sync(self, folder: Path) -> None:
        """Make the renames inside `folder` durable."""
        fsync_directory(folder)


def _parts(relpath: str) -> tuple[str, ...]:
    path = PurePosixPath(relpath)
    parts = path.parts
    if not parts or path.is_absolute() or ".." in parts or "\x00" in relpath:
        raise OutsideMediaDirectory(relpath)
    return parts


def _open_at(name: str, flags: int, folder: int, relpath: str) -> int:
    try:
        return os.open(name, flags, dir_fd=folder)
    except OSError as exc:
        if exc.errno == errno.ELOOP or (
            exc.errno == errno.ENOTDIR and stat.S_ISLNK(os.lstat(name, dir_fd=folder).st_mode)
        ):
            raise SymlinkInMediaPath(relpath) from None
        if exc.errno == errno.ENOTDIR:  # a file where a folder should be: nothing there
            raise FileNotFoundError(errno.ENOENT, "no such file", relpath) from None
        raise


def fsync_directory(path: Path) -> None:
    """Make a rename inside `path` durable across a power cut."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
