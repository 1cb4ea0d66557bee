"""Where media files live inside the media directory, the rule that they never leave it, and
the two file operations that imports and deletions are made of (a rename and an unlink)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

VIDEOS = "videos"
THUMBNAILS = "thumbnails"
INCOMING = ".incoming"
TRASH = ".trash"


class OutsideMediaDirectory(ValueError):
    """A stored path points outside the media directory (tampered row or bad migration)."""


@dataclass(frozen=True)
class MediaStore:
    root: Path

    def prepare(self) -> None:
        for folder in (VIDEOS, THUMBNAILS, INCOMING, TRASH):
            (self.root / folder).mkdir(parents=True, exist_ok=True)

    @staticmethod
    def video_relpath(generation_id: UUID) -> str:
        return f"{VIDEOS}/{generation_id}.mp4"

    @staticmethod
    def thumbnail_relpath(generation_id: UUID) -> str:
        return f"{THUMBNAILS}/{generation_id}.jpg"

    def resolve(self, relpath: str) -> Path:
        """The absolute path of a stored relative path, refused if it escapes the root."""
        candidate = (self.root / relpath).resolve()
        if candidate == self.root or not candidate.is_relative_to(self.root):
            raise OutsideMediaDirectory(relpath)
        return candidate

    def exists(self, relpath: str | None) -> bool:
        if not relpath:
            return False
        try:
            return self.resolve(relpath).is_file()
        except OutsideMediaDirectory:
            return False

    def incoming_dir(self) -> Path:
        return self.root / INCOMING

    def trash_dir(self) -> Path:
        return self.root / TRASH

    # Every rename and unlink of `storage.files` goes through these two methods, so a store
    # that fails (or crashes) at one named step can be handed to the app.
    def move(self, source: Path, target: Path) -> None:
        """Rename `source` to `target` atomically, replacing what `target` named."""
        os.replace(source, target)

    def remove(self, path: Path, *, missing_ok: bool = False) -> None:
        path.unlink(missing_ok=missing_ok)


def fsync_directory(path: Path) -> None:
    """Make a rename inside `path` durable across a power cut."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
