"""The media backend seam: where a generation's files live, and how storing and deleting them
stays all or nothing with the database row that names them.

Two backends, one interface:

- `LocalBackend`: the media directory. Files are placed by atomic renames under a journal
  operation and deleted through its trash (`storage.files`, `storage.journal`); start-up
  recovery settles what a crash left.
- `S3Backend`: an S3-compatible bucket. There is no rename, so the database is the one commit
  point: intent records (`storage.intents`) are committed before objects are put and with the
  rows whose objects are to be removed, and a sweeper in every app process finishes what a
  crash or a store outage left (see the intents module for the exact scheme).

Keys never change meaning: an object is written once under a key that carries the media
version, so a retried or raced write never replaces bytes a row already names.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager as AsyncContextManager
from pathlib import Path
from typing import Any, Protocol, TypeVar
from uuid import UUID

from anyio import CancelScope, to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from reelvault.errors import StorageFailure
from reelvault.settings import Settings
from reelvault.storage import files, intents, journal
from reelvault.storage.objects import ObjectStore, StoreUnavailable
from reelvault.storage.store import STORYBOARDS, THUMBNAILS, VIDEOS, MediaStore

logger = logging.getLogger("reelvault.storage")

Saved = TypeVar("Saved")
SessionFactory = Callable[[], AsyncContextManager[AsyncSession]]

# Where each kind of file goes, and what it is served as.
FOLDERS = {"video": VIDEOS, "thumbnail": THUMBNAILS, "storyboard": STORYBOARDS}
EXTENSIONS = {"video": "mp4", "thumbnail": "jpg", "storyboard": "jpg"}
CONTENT_TYPES = {"mp4": "video/mp4", "jpg": "image/jpeg", "jpeg": "image/jpeg", "vtt": "text/vtt"}


class MediaBackend(Protocol):
    name: str

    async def store(
        self,
        session: AsyncSession,
        generation_id: UUID,
        version: str,
        paths: Mapping[str, Path],
        save: Callable[[dict[str, str]], Awaitable[Saved]],
        *,
        op: journal.Operation | None = None,
    ) -> Saved:
        """Store local files (kind -> path) under new keys, then `await save(keys)`, which
        writes the row(s) naming them and commits `session`. All or nothing: if `save`
        raises, the session rolls back and the stored files go."""
        ...

    async def delete(
        self,
        session: AsyncSession,
        wanted: files.FileSet,
        commit: Callable[[], Awaitable[None]],
        *,
        label: str,
        manifest: dict[str, Any],
    ) -> list[str]:
        """Remove `wanted` (name -> stored path) as part of committing the session's deletion
        of their rows (`commit`). StorageFailure before the commit: nothing changed."""
        ...

    async def available(self, paths: Sequence[str | None]) -> list[bool]:
        """Whether each stored path (None: no file) can be served."""
        ...

    def local_copy(self, path: str) -> AsyncContextManager[Path]:
        """A readable local file with the stored file's bytes, for the block."""
        ...

    async def ready(self) -> bool: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def stored_path(generation_id: UUID, kind: str, version: str | None = None) -> str:
    """A file's stored path (relative to the media directory or the bucket's prefix)."""
    suffix = f"-{version}" if version else ""
    return f"{FOLDERS[kind]}/{generation_id}{suffix}.{EXTENSIONS[kind]}"


def content_type_of(path: str) -> str:
    return CONTENT_TYPES.get(path.rsplit(".", 1)[-1].lower(), "application/octet-stream")


class LocalBackend:
    """Today's media directory: renames under a journal, recovery at start-up."""

    name = "local"

    def __init__(self, media: MediaStore) -> None:
        self.media = media

    async def store(
        self,
        session: AsyncSession,
        generation_id: UUID,
        version: str,
        paths: Mapping[str, Path],
        save: Callable[[dict[str, str]], Awaitable[Saved]],
        *,
        op: journal.Operation | None = None,
    ) -> Saved:
        # The import's and the worker's files keep the names they always had; derived files
        # (made after the row exists) carry the version, so a newer one never replaces the
        # bytes a row still names.
        derived = op is None
        names = {
            kind: stored_path(generation_id, kind, version if derived else None) for kind in paths
        }
        place = functools.partial(files.place_files, action="derive" if derived else "import")
        with contextlib.ExitStack() as stack:
            if op is None:
                op = stack.enter_context(journal.operation(self.media.incoming_dir(), "derive"))
            placed = await to_thread.run_sync(
                place, self.media, op, generation_id, dict(paths), names
            )
            try:
                return await save(placed)
            except BaseException:
                with CancelScope(shield=True):
                    await session.rollback()
                    await to_thread.run_sync(files.remove_placed, self.media, placed, op)
                raise

    async def delete(
        self,
        session: AsyncSession,
        wanted: files.FileSet,
        commit: Callable[[], Awaitable[None]],
        *,
        label: str,
        manifest: dict[str, Any],
    ) -> list[str]:
        """Move `wanted` into one journal operation's trash, commit, then unlink the trash.
        Until the commit, any failure (a cancellation included) rolls back and restores every
        file; where even that fails, the operation's folder stays for the next start's
        recovery, which asks the database what to do."""
        media = self.media
        with journal.operation(media.trash_dir(), label) as op:
            try:
                moved, report = await to_thread.run_sync(
                    files.move_to_trash, media, op, manifest, wanted
                )
            except BaseException as exc:
                with CancelScope(shield=True):
                    await session.rollback()
                    if not op.is_settled:  # say, cancelled once the files had moved
                        await self._restore(op, {name: wanted[name] for name in op.holding})
                if isinstance(exc, StorageFailure) or not isinstance(exc, Exception):
                    raise
                raise StorageFailure() from exc
            try:
                await commit()
            except BaseException as exc:
                with CancelScope(shield=True):
                    await session.rollback()
                    await self._restore(op, moved)
                if not isinstance(exc, Exception):
                    raise
                logger.error("delete %s: the commit failed", manifest, exc_info=exc)
                raise StorageFailure() from None
            report += await to_thread.run_sync(files.purge_trash, media, op, moved)
        return report

    async def _restore(self, op: journal.Operation, moved: files.FileSet) -> None:
        try:
            await to_thread.run_sync(files.restore_from_trash, self.media, op, moved)
        except Exception:
            # Unsettled, the operation's folder stays: recovery puts the files back at the
            # next start, the rows being there.
            logger.exception("delete %s: files left in the trash for recovery", op.folder.name)

    async def available(self, paths: Sequence[str | None]) -> list[bool]:
        if not any(paths):
            return [False] * len(paths)
        # One trip to a worker thread for the whole page: a slow disk never blocks the loop.
        return await to_thread.run_sync(lambda: [self.media.exists(path) for path in paths])

    @contextlib.asynccontextmanager
    async def local_copy(self, path: str) -> AsyncIterator[Path]:
        handle, _ = await to_thread.run_sync(self.media.open, path)  # no link followed
        await to_thread.run_sync(handle.close)
        yield self.media.resolve(path)

    async def ready(self) -> bool:
        return await to_thread.run_sync(_writable, self.media.root)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


class S3Backend:
    """An S3-compatible bucket, kept in agreement with the rows by intent records."""

    name = "s3"

    def __init__(
        self,
        objects: ObjectStore,
        sessions: SessionFactory,
        work_dir: Path,
        *,
        intent_grace_seconds: int = 3600,
        exists_ttl_seconds: int = 60,
        sweep_every_seconds: float = 30.0,
    ) -> None:
        self.objects = objects
        self.sessions = sessions
        self.work_dir = work_dir  # temporary downloads (local_copy)
        self.intent_grace_seconds = intent_grace_seconds
        self.sweep_every_seconds = min(sweep_every_seconds, max(1.0, intent_grace_seconds / 2))
        self.exists = ExistenceCache(exists_ttl_seconds)
        self._sweeper: asyncio.Task[None] | None = None
        self._checks = asyncio.Semaphore(16)  # HEADs at once for one listing

    async def store(
        self,
        session: AsyncSession,
        generation_id: UUID,
        version: str,
        paths: Mapping[str, Path],
        save: Callable[[dict[str, str]], Awaitable[Saved]],
        *,
        op: journal.Operation | None = None,
    ) -> Saved:
        keys = {kind: stored_path(generation_id, kind, version) for kind in paths}
        # 1. The intent commits before the first byte goes up (its own short transaction).
        async with self.sessions() as own:
            intent_id = await intents.record(own, "put", list(keys.values()))
            await own.commit()
        try:
            # 2. The objects, under keys no row names yet.
            for kind, key in keys.items():
                await self.objects.put_file(key, paths[kind], content_type_of(key))
            # 3. The row and the intent's end in one transaction: the sweeper may have taken
            # the intent (this import outlived the grace period): then its objects are its.
            if not await intents.take(session, intent_id):
                raise StoreUnavailable()
            saved = await save(keys)
        except BaseException:
            with CancelScope(shield=True):
                await session.rollback()
                await self._discard(intent_id, list(keys.values()))
            raise
        for key in keys.values():
            self.exists.remember(key, present=True)
        return saved

    async def _discard(self, intent_id: UUID, keys: list[str]) -> None:
        """Remove a failed store's objects, then its intent; where the store fails, the intent
        stays and the sweeper removes them once the grace period is over."""
        try:
            await self.objects.remove(keys)
            async with self.sessions() as own:
                await intents.take(own, intent_id)
                await own.commit()
        except Exception:
            logger.warning("store: objects %s left to the sweeper", keys, exc_info=True)

    async def delete(
        self,
        session: AsyncSession,
        wanted: files.FileSet,
        commit: Callable[[], Awaitable[None]],
        *,
        label: str,
        manifest: dict[str, Any],
    ) -> list[str]:
        """Roll forward: the delete intent commits with the rows' deletion (the one commit
        point: the owner never sees the video again), then the objects go. A store that fails
        then only delays their removal: the sweeper retries until they are gone."""
        keys = list(wanted.values())
        try:
            intent_id = await intents.record(session, "delete", keys) if keys else None
            await commit()
        except BaseException as exc:
            with CancelScope(shield=True):
                await session.rollback()
            if not isinstance(exc, Exception):
                raise
            logger.error("delete %s: the commit failed", manifest, exc_info=exc)
            raise StorageFailure() from None
        for key in keys:
            self.exists.forget(key)
        if intent_id is None:
            return []
        if await self._finish_delete(intent_id, keys):
            return [f"{name}=removed" for name in wanted]
        return [f"{name}=left-to-sweeper" for name in wanted]

    async def _finish_delete(self, intent_id: UUID, keys: list[str]) -> bool:
        try:
            await self.objects.remove(keys)
        except StoreUnavailable:
            logger.warning("delete: objects %s kept until the store answers", keys)
            return False
        async with self.sessions() as own:
            await intents.take(own, intent_id)
            await own.commit()
        return True

    async def sweep(self) -> int:
        """Finish every delete intent, and abandon put intents past the grace period: each is
        turned into a delete intent in one transaction (whoever deletes the put intent owns
        its keys, so an import still running finds it gone and gives up), then removed."""
        settled = 0
        async with self.sessions() as own:
            found = await intents.stale(own, put_grace_seconds=self.intent_grace_seconds)
            await own.rollback()
        for intent_id, action, keys in found:
            if action == "put":
                async with self.sessions() as own:
                    if not await intents.take(own, intent_id):
                        continue  # its import committed (or another sweeper took it)
                    intent_id = await intents.record(own, "delete", keys)
                    await own.commit()
                logger.warning("sweep: abandoned upload, removing %s", keys)
            if await self._finish_delete(intent_id, keys):
                settled += 1
        return settled

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("sweep failed; trying again later", exc_info=True)
            await asyncio.sleep(self.sweep_every_seconds)

    async def available(self, paths: Sequence[str | None]) -> list[bool]:
        async def check(path: str | None) -> bool:
            if not path:
                return False
            known = self.exists.get(path)
            if known is not None:
                return known
            async with self._checks:
                try:
                    present = await self.objects.head(path) is not None
                except StoreUnavailable:
                    return False  # not cached: asked again on the next listing
            self.exists.remember(path, present=present)
            return present

        return list(await asyncio.gather(*(check(path) for path in paths)))

    @contextlib.asynccontextmanager
    async def local_copy(self, path: str) -> AsyncIterator[Path]:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.work_dir, prefix="copy-") as folder:
            target = Path(folder) / Path(path).name
            await self.objects.download(path, target)
            yield target

    async def ready(self) -> bool:
        return await self.objects.ping()

    async def start(self) -> None:
        await self.objects.open()
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="storage-sweeper")

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        await self.objects.close()


class ExistenceCache:
    """Answers of "is this object there", trusted for a while. Objects are written once and
    removed only by us (this process forgets what it deletes at once), so a remembered
    "present" goes stale only through a loss outside the service: the listing then shows
    the file as available for at most the TTL, and the video request itself still answers
    404. A page of 20 videos costs at most 20 concurrent HEADs once per TTL, not per view."""

    def __init__(self, ttl_seconds: float, max_entries: int = 100_000) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._seen: dict[str, tuple[bool, float]] = {}

    def get(self, key: str) -> bool | None:
        found = self._seen.get(key)
        if found is None:
            return None
        present, at = found
        # Absence is re-checked sooner: a missing file is what an operator is fixing.
        ttl = self.ttl if present else min(self.ttl, 5.0)
        if time.monotonic() - at > ttl:
            del self._seen[key]
            return None
        return present

    def remember(self, key: str, *, present: bool) -> None:
        if self.ttl <= 0:
            return
        if len(self._seen) >= self.max_entries:
            self._seen.clear()  # rare, and only costs a round of HEADs
        self._seen[key] = (present, time.monotonic())

    def forget(self, key: str) -> None:
        self._seen.pop(key, None)


def build_backend(settings: Settings, media: MediaStore, sessions: SessionFactory) -> MediaBackend:
    """The backend `REELVAULT_STORAGE` names (its store is opened when the app starts)."""
    if settings.storage == "s3":
        return S3Backend(
            ObjectStore(settings),
            sessions,
            settings.data_dir / "tmp",
            intent_grace_seconds=settings.s3_intent_grace_seconds,
            exists_ttl_seconds=settings.s3_exists_ttl_seconds,
        )
    return LocalBackend(media)


def _writable(root: Path) -> bool:
    try:
        with tempfile.NamedTemporaryFile(dir=root, prefix=".ready-"):
            pass
    except OSError:
        return False
    return True
