"""`reelvault storage migrate --to s3`: a local library copied into the bucket, key for key.

Every stored path of every generation row (video, thumbnail, storyboard) goes up under the
same key, the path relative to the media directory, so no row changes: the s3 backend finds a
migrated object exactly where its row says. The command keeps no state of its own, which is
what makes it idempotent and resumable: before anything is sent, the object already in the
bucket is compared with the local file (size, then the store's ETag against the MD5 of the
local bytes, or the MD5 of its parts' MD5s for a multipart object), and one that matches is
left alone. An upload is verified twice: by `put_file` (the store's ETag against the bytes
sent) and by a HEAD after it (the size and ETag the bucket now shows). A run killed at any
point leaves only whole, verified objects or none (a single PUT is atomic, a multipart upload
becomes an object only when completed), so the next run finishes the job.

Local files are only read, never moved or removed.
"""

from __future__ import annotations

import hashlib
import stat
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from uuid import UUID

import anyio
from advanced_alchemy.types import GUID
from anyio import to_thread
from sqlalchemy import String, column, inspect, or_, select, table
from sqlalchemy.ext.asyncio import AsyncConnection

from reelvault.db import build_sqlalchemy_config
from reelvault.settings import ENV_PREFIX, Settings
from reelvault.storage.backend import content_type_of as content_type
from reelvault.storage.objects import (
    ObjectInfo,
    ObjectStore,
    StoreUnavailable,
    UploadMismatch,
    multipart_etag,
)
from reelvault.storage.store import (
    STORYBOARDS,
    THUMBNAILS,
    VIDEOS,
    MediaStore,
    OutsideMediaDirectory,
)

# The columns that name stored files, and what each file is (the storyboard's only where the
# database has that column).
PATH_COLUMNS = {
    "video_path": "video",
    "thumbnail_path": "thumbnail",
    "storyboard_path": "storyboard",
}
EXIT_MISSING = 3  # every file present was verified, but rows name files found nowhere
_READ_CHUNK = 1024 * 1024


class MigrationRefused(Exception):
    """The migration cannot start (settings incomplete, bucket silent): nothing was done."""


class Outcome(StrEnum):
    UPLOADED = "uploaded"
    PRESENT = "already there"
    BUCKET_ONLY = "only in the bucket"  # gone from the local disk, its object is there
    WOULD_UPLOAD = "would upload"  # --dry-run
    MISSING = "missing locally"  # on neither side
    FAILED = "failed"
    NOT_ATTEMPTED = "not attempted"  # the store stopped answering first


@dataclass(frozen=True, slots=True)
class StoredFile:
    generation_id: UUID
    kind: str  # video | thumbnail | storyboard
    key: str  # the stored path: relative to the media directory, and the object's key


@dataclass(frozen=True, slots=True)
class Result:
    file: StoredFile
    outcome: Outcome
    size: int = 0  # the local file's (0 where there is none)
    reason: str = ""


@dataclass
class Summary:
    total_files: int = 0
    total_bytes: int = 0
    results: list[Result] = field(default_factory=list)
    dry_run: bool = False
    stopped: str = ""  # why the run stopped early
    # Objects in the media folders of the bucket that no row names (rows deleted since an
    # earlier run, say): reported, never removed.
    unnamed: list[str] = field(default_factory=list)

    def of(self, outcome: Outcome) -> list[Result]:
        return [result for result in self.results if result.outcome is outcome]

    @property
    def exit_code(self) -> int:
        """0 only when every file the rows name is verified in the bucket (or, on a dry run,
        would be after uploading what is listed); 1 on any failure; EXIT_MISSING where the
        only trouble is rows whose files are on neither side."""
        if self.stopped or self.of(Outcome.FAILED) or self.of(Outcome.NOT_ATTEMPTED):
            return 1
        if self.of(Outcome.MISSING):
            return EXIT_MISSING
        return 0


def s3_settings_problem(settings: Settings) -> str | None:
    """What keeps these settings from naming a bucket to migrate into, in the operator's
    words (the variables to set), or None."""
    if not settings.s3_bucket:
        return f"{ENV_PREFIX}S3_BUCKET is not set: name the bucket to migrate into (it must exist)."
    if bool(settings.s3_access_key_id) != bool(settings.s3_secret_access_key):
        return (
            f"Set both {ENV_PREFIX}S3_ACCESS_KEY_ID and {ENV_PREFIX}S3_SECRET_ACCESS_KEY "
            "(or neither, to use the AWS credential chain)."
        )
    return None


def where(settings: Settings) -> str:
    prefix = settings.s3_prefix.strip("/")
    place = f"s3://{settings.s3_bucket}/{prefix + '/' if prefix else ''}"
    return f"{place} at {settings.s3_endpoint_url or 'AWS'}"


def planned_files(rows: Iterable[Sequence[object]], columns: Sequence[str]) -> list[StoredFile]:
    """The files to migrate from rows of (id, *columns), each stored path once, in order."""
    planned: dict[str, StoredFile] = {}
    for generation_id, *paths in rows:
        for name, path in zip(columns, paths, strict=True):
            if path and path not in planned:
                planned[str(path)] = StoredFile(generation_id, PATH_COLUMNS[name], str(path))  # type: ignore[arg-type]
    return list(planned.values())


def local_etag(path: Path, part_bytes: int, *, multipart: bool) -> str:
    """The ETag a store gives these bytes: their MD5, or uploaded in parts of `part_bytes`
    (as `put_file` sends them), the MD5 of the parts' MD5s and `-<parts>`."""
    whole = hashlib.md5()  # noqa: S324 (the store's ETag, not a secret)
    parts: list[bytes] = []
    with path.open("rb") as handle:
        while True:
            part = hashlib.md5()  # noqa: S324
            taken = 0
            while taken < part_bytes:
                chunk = handle.read(min(_READ_CHUNK, part_bytes - taken))
                if not chunk:
                    break
                part.update(chunk)
                whole.update(chunk)
                taken += len(chunk)
            if taken:
                parts.append(part.digest())
            if taken < part_bytes:
                break
    return multipart_etag(parts) if multipart else whole.hexdigest()


def is_multipart(etag: str) -> bool:
    return "-" in etag


def human_bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def progress_line(done: int, summary: Summary, result: Result, done_bytes: int) -> str:
    width = len(str(summary.total_files))
    detail = f" ({human_bytes(result.size)})" if result.size else ""
    reason = f": {result.reason}" if result.reason else ""
    return (
        f"[{done:>{width}}/{summary.total_files}] {result.outcome} {result.file.key}{detail}"
        f"{reason} | {human_bytes(done_bytes)} of {human_bytes(summary.total_bytes)}"
    )


def summary_lines(summary: Summary, settings: Settings) -> list[str]:
    """The report at the end of a run, for the operator."""

    def count(outcome: Outcome) -> str:
        results = summary.of(outcome)
        return f"{len(results)} ({human_bytes(sum(r.size for r in results))})"

    title = "Dry run (nothing was uploaded)" if summary.dry_run else "Storage migration"
    lines = [
        f"{title} into {where(settings)}: {summary.total_files} files, "
        f"{human_bytes(summary.total_bytes)} on the local disk",
    ]
    if summary.dry_run:
        lines.append(f"  would upload:     {count(Outcome.WOULD_UPLOAD)}")
    else:
        lines.append(f"  uploaded:         {count(Outcome.UPLOADED)}")
    lines.append(f"  already there:    {count(Outcome.PRESENT)}")
    if summary.of(Outcome.BUCKET_ONLY):
        lines.append(
            f"  only in the bucket (gone from the local disk, not compared): "
            f"{len(summary.of(Outcome.BUCKET_ONLY))}"
        )
    lines.append(f"  missing locally:  {len(summary.of(Outcome.MISSING))}")
    lines += [
        f"    generation {r.file.generation_id} {r.file.kind}: {r.file.key}{_because(r)}"
        for r in summary.of(Outcome.MISSING)
    ]
    failed = summary.of(Outcome.FAILED)
    lines.append(f"  failed:           {len(failed)}")
    lines += [f"    {r.file.key}{_because(r)}" for r in failed]
    if summary.of(Outcome.NOT_ATTEMPTED):
        lines.append(f"  not attempted:    {len(summary.of(Outcome.NOT_ATTEMPTED))}")
    if summary.unnamed:
        lines.append(
            f"  named by no row:  {len(summary.unnamed)} (objects of generations deleted since "
            "an earlier run, or not of this library; left alone), e.g. " + summary.unnamed[0]
        )
    if summary.stopped:
        lines.append(f"Stopped early: {summary.stopped}. Run the command again to finish.")
    elif failed:
        lines.append("Run the command again: what is already verified is not sent twice.")
    if summary.of(Outcome.MISSING):
        lines.append(
            "The rows above name files that are on neither the local disk nor the bucket: "
            "those videos cannot be served either way (delete them, or put the files back "
            "and run again)."
        )
    if summary.exit_code == 0 and not summary.dry_run:
        media = settings.media_root
        lines += [
            "Every file is verified in the bucket. Switch the app with "
            f"{ENV_PREFIX}STORAGE=s3 (the same bucket, prefix and database).",
            "The local files were left in place. Once the app serves your library from the "
            f"bucket and you are satisfied, remove them: rm -r {media / 'videos'} "
            f"{media / 'thumbnails'} {media / 'storyboards'}",
        ]
    return lines


def _because(result: Result) -> str:
    return f" ({result.reason})" if result.reason else ""


async def stored_files(connection: AsyncConnection) -> list[StoredFile]:
    """Every stored path of every generation, oldest first. The storyboard column is read
    where the database has it (a library from before storyboards has none)."""
    present = await connection.run_sync(
        lambda sync: {info["name"] for info in inspect(sync).get_columns("generation")}
    )
    names = [name for name in PATH_COLUMNS if name in present]
    # A table of its own, not the model: it names exactly the columns this database has.
    generation = table(
        "generation",
        column("id", GUID()),
        column("created_at"),
        *(column(name, String()) for name in names),
    )
    paths = [generation.c[name] for name in names]
    rows = await connection.execute(
        select(generation.c.id, *paths)
        .where(or_(*(path.is_not(None) for path in paths)))
        .order_by(generation.c.created_at, generation.c.id)
    )
    return planned_files(rows, names)


@dataclass(frozen=True, slots=True)
class _Local:
    path: Path | None  # None: nothing the app would serve
    size: int = 0
    reason: str = ""


def _local_file(media: MediaStore, key: str) -> _Local:
    """The local file of a stored path, as the local backend would serve it: a regular file
    inside the media directory reached through no symbolic link."""
    try:
        path = media.resolve(key)
        info = path.lstat()
    except OutsideMediaDirectory:
        return _Local(None, reason="its path leaves the media directory, or passes a link")
    except FileNotFoundError:
        return _Local(None, reason="no such file")
    except OSError as exc:
        return _Local(None, reason=exc.strerror or str(exc))
    if stat.S_ISLNK(info.st_mode):
        return _Local(None, reason="a symbolic link, which the app does not serve")
    if not stat.S_ISREG(info.st_mode):
        return _Local(None, reason="not a regular file")
    return _Local(path, info.st_size)


class _Migration:
    def __init__(self, store: ObjectStore, *, dry_run: bool) -> None:
        self.store = store
        self.dry_run = dry_run

    async def settle(self, file: StoredFile, local: _Local) -> Result:
        """Bring one file's object into agreement with the local file (or say why not)."""
        existing = await self.store.head(file.key)
        if local.path is None:
            if existing is not None:
                return Result(file, Outcome.BUCKET_ONLY)
            return Result(file, Outcome.MISSING, reason=local.reason)
        if existing is not None and await self._matches(local, existing):
            return Result(file, Outcome.PRESENT, local.size)
        if self.dry_run:
            return Result(file, Outcome.WOULD_UPLOAD, local.size)
        try:
            stored = await self.store.put_file(file.key, local.path, content_type(file.key))
        except UploadMismatch as exc:
            return Result(file, Outcome.FAILED, local.size, exc.detail)
        except OSError as exc:
            return Result(file, Outcome.FAILED, local.size, f"could not be read: {exc}")
        shown = await self.store.head(file.key)
        if shown is None or shown.size != local.size or shown.etag != stored.etag:
            return Result(file, Outcome.FAILED, local.size, "the bucket shows other bytes")
        return Result(file, Outcome.UPLOADED, local.size)

    async def _matches(self, local: _Local, existing: ObjectInfo) -> bool:
        if local.path is None or existing.size != local.size:
            return False
        etag = await to_thread.run_sync(
            lambda: local_etag(
                local.path,  # type: ignore[arg-type]
                self.store.part_bytes,
                multipart=is_multipart(existing.etag),
            )
        )
        return etag == existing.etag


async def migrate_to_s3(
    settings: Settings,
    *,
    jobs: int = 4,
    dry_run: bool = False,
    progress: Callable[[str], None] = lambda line: None,
) -> Summary:
    """Copy every stored file of the library of `settings` into its bucket (see the module's
    docstring). MigrationRefused where it cannot start."""
    problem = s3_settings_problem(settings)
    if problem:
        raise MigrationRefused(problem)
    async with ObjectStore(settings) as store:
        if not await store.ping():
            raise MigrationRefused(
                f"The bucket {where(settings)} does not answer: check that it exists, "
                f"{ENV_PREFIX}S3_ENDPOINT_URL, {ENV_PREFIX}S3_REGION and the credentials."
            )
        engine = build_sqlalchemy_config(settings).get_engine()
        try:
            async with engine.connect() as connection:
                planned = await stored_files(connection)
        finally:
            await engine.dispose()
        media = MediaStore(settings.media_root)
        locals_ = await to_thread.run_sync(lambda: [_local_file(media, f.key) for f in planned])
        summary = Summary(
            total_files=len(planned),
            total_bytes=sum(local.size for local in locals_),
            dry_run=dry_run,
        )
        await _run(_Migration(store, dry_run=dry_run), planned, locals_, summary, jobs, progress)
        if not summary.stopped:
            named = {file.key for file in planned}
            try:
                summary.unnamed = [
                    key
                    for folder in (VIDEOS, THUMBNAILS, STORYBOARDS)
                    async for key, _ in store.keys(f"{folder}/")
                    if key not in named
                ]
            except StoreUnavailable:
                summary.stopped = "the object store stopped answering"
    return summary


async def _run(
    migration: _Migration,
    planned: list[StoredFile],
    locals_: list[_Local],
    summary: Summary,
    jobs: int,
    progress: Callable[[str], None],
) -> None:
    pending = iter(zip(planned, locals_, strict=True))
    done_bytes = 0

    async def worker() -> None:
        nonlocal done_bytes
        # One shared iterator: a worker takes the next file only when it is free (anyio's
        # tasks switch only at awaits, so `next` needs no lock).
        for file, local in pending:
            if summary.stopped:
                summary.results.append(Result(file, Outcome.NOT_ATTEMPTED, local.size))
                continue
            try:
                result = await migration.settle(file, local)
            except StoreUnavailable:
                # Down or failing: every other file would fail the same way, after retries.
                summary.stopped = "the object store stopped answering"
                result = Result(file, Outcome.FAILED, local.size, "the store did not answer")
            summary.results.append(result)
            done_bytes += local.size
            progress(progress_line(len(summary.results), summary, result, done_bytes))

    async with anyio.create_task_group() as group:
        for _ in range(max(1, jobs)):
            group.start_soon(worker)
