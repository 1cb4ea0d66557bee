"""Whether an upload may start, and how large it may grow: the per-account cap on uploads in
flight, the stream limit a storage quota leaves, and the idle cut-off of a stalled body.

The cap is shared by every process that shares the data directory (the image's uvicorn
workers): a slot is an `flock` on one of the account's slot files, so the kernel releases it
when the upload ends or its process dies, and a killed worker never leaks one."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from anyio import to_thread

from reelvault.errors import PayloadTooLarge, TooManyRequests
from reelvault.settings import Settings

# How long an account at its cap is asked to wait: about the time a small upload takes; the
# actual end of its other uploads is unknown here.
RETRY_AFTER_SECONDS = 5


@dataclass(frozen=True)
class UploadLimit:
    """The most bytes this upload's file may have, and the sentence of the 413 past it."""

    max_bytes: int
    detail: str = PayloadTooLarge.detail


def upload_limit(max_upload_bytes: int, quota_bytes: int | None, used_bytes: int) -> UploadLimit:
    """The service's upload limit, or what is left of the account's quota where that is less."""
    if quota_bytes is None or quota_bytes - used_bytes >= max_upload_bytes:
        return UploadLimit(max_upload_bytes)
    return UploadLimit(max(0, quota_bytes - used_bytes), quota_detail(quota_bytes, used_bytes))


def quota_detail(quota_bytes: int, used_bytes: int) -> str:
    free = max(0, quota_bytes - used_bytes)
    return (
        f"The file exceeds your storage quota: {_size(free)} of {_size(quota_bytes)} are free. "
        "Delete videos to make room."
    )


def _size(count: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} bytes"


@dataclass(frozen=True)
class UploadPolicy:
    max_upload_bytes: int
    quota_bytes: int | None = None
    idle_seconds: float = 30
    per_account: int = 2
    slots_dir: Path | None = None  # None: no cap (the CLI's and the demo's imports)

    @classmethod
    def from_settings(cls, settings: Settings) -> UploadPolicy:
        return cls(
            max_upload_bytes=settings.max_upload_bytes,
            quota_bytes=settings.user_quota_bytes,
            idle_seconds=settings.upload_idle_seconds,
            per_account=settings.max_uploads_per_user,
            slots_dir=settings.data_dir / "uploads-in-flight",
        )

    @contextlib.asynccontextmanager
    async def slot(self, owner_id: UUID) -> AsyncIterator[None]:
        """Hold one of the account's upload slots until the block ends; 429 where all are
        taken, before any byte of the body is read."""
        if self.slots_dir is None:
            yield
            return
        fd = await to_thread.run_sync(_take_slot, self.slots_dir, owner_id, self.per_account)
        if fd is None:
            raise TooManyRequests(
                f"You already have {self.per_account} uploads in progress; "
                "wait for one to finish, then try again",
                retry_after=RETRY_AFTER_SECONDS,
            )
        try:
            yield
        finally:
            os.close(fd)  # releases the lock


def _take_slot(folder: Path, owner_id: UUID, count: int) -> int | None:
    """The descriptor of a slot file now locked by us, or None where all `count` are held.
    flock locks belong to the open file, so two uploads of one process exclude each other
    as two processes do."""
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        fd = os.open(folder / f"{owner_id}.{index}", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return fd
    return None
