from __future__ import annotations

import contextlib
import logging
import secrets
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from uuid import UUID, uuid4

import msgspec
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from anyio import to_thread
from sqlalchemy import bindparam, func, select, update
from sqlalchemy import delete as sa_delete
from sqlalchemy.ext.asyncio import AsyncSession

from reelvault.accounts.models import User
from reelvault.accounts.services import UserService
from reelvault.errors import (
    BadRequest,
    DomainError,
    Forbidden,
    InvalidValue,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
    StorageFailure,
    UnsupportedMedia,
)
from reelvault.events import emit
from reelvault.events.bus import end_streams
from reelvault.generations.admission import (
    UploadLimit,
    UploadPolicy,
    quota_detail,
    upload_limit,
)
from reelvault.generations.listing import (
    ITEM_COLUMNS,
    ListingQuery,
    page_carries_total,
    page_statement,
    total_statement,
)
from reelvault.generations.models import Generation, GenerationStatus
from reelvault.generations.schemas import (
    GenerationItem,
    GenerationPage,
    GenerationRequest,
    to_item,
)
from reelvault.generations.upload import (
    ReceivedUpload,
    idle_cut,
    multipart_boundary,
    receive_upload,
)
from reelvault.media.errors import NotAVideoError
from reelvault.media.jobs import MediaJobs
from reelvault.media.limits import MediaLimits
from reelvault.observability import DELETIONS, IMPORTS, SEARCH_SECONDS, clip, log_event
from reelvault.settings import Settings
from reelvault.storage import files, journal
from reelvault.storage.backend import LocalBackend, MediaBackend
from reelvault.storage.store import MediaStore

PROMPT_MAX = 2000
Saved = TypeVar("Saved")

logger = logging.getLogger("reelvault.generations")

# Reads are Core statements with the owner in the WHERE clause: one round trip proves
# ownership and fetches the row, with no ORM identity map to fill for a read-only request.
_g = Generation.__table__.c
_OWNED = (_g.id == bindparam("generation_id"), _g.user_id == bindparam("owner_id"))
_ITEM_OF_OWNER = select(*ITEM_COLUMNS).where(*_OWNED)
_MEDIA_OF_OWNER = select(_g.status, _g.video_path, _g.thumbnail_path, _g.media_version).where(
    *_OWNED
)
# What an account stores (the quota counts its videos' file_size), and, read with it, whether
# the account still exists.
_u = User.__table__.c
_STORED_BYTES = (
    select(func.coalesce(func.sum(_g.file_size), 0))
    .where(_g.user_id == bindparam("owner_id"))
    .scalar_subquery()
)
_ACCOUNT_USAGE = select(_u.id, _STORED_BYTES.label("used")).where(_u.id == bindparam("owner_id"))
_USED = select(_STORED_BYTES)
# A write to the account's row that changes nothing: it makes concurrent imports of one
# account take turns at the quota check (a row lock on PostgreSQL, the write lock on SQLite).
_HOLD_ACCOUNT = (
    update(User.__table__).where(_u.id == bindparam("owner_id")).values(updated_at=_u.updated_at)
)

# A deletion deletes first and asks questions after: the DELETE takes the row's write lock, so
# of two concurrent deletes of one video exactly one gets its paths back.
_DELETE_OF_OWNER = (
    sa_delete(Generation.__table__)
    .where(*_OWNED)
    .returning(_g.video_path, _g.thumbnail_path, _g.storyboard_path)
)
_OWNER_OF = select(_g.user_id).where(_g.id == bindparam("generation_id"))
_DELETE_LIBRARY = (
    sa_delete(Generation.__table__)
    .where(_g.user_id == bindparam("owner_id"))
    .returning(_g.id, _g.video_path, _g.thumbnail_path, _g.storyboard_path)
)
_owner = User.__table__.c
_LOCK_OWNER = select(_owner.id).where(_owner.id == bindparam("owner_id")).with_for_update()


@dataclass(frozen=True)
class StoredMedia:
    """Where one of the caller's media files is, and the version its URL carries."""

    relpath: str
    version: str | None


class GenerationService(SQLAlchemyAsyncRepositoryService[Generation]):
    class Repository(SQLAlchemyAsyncRepository[Generation]):
        model_type = Generation

    repository_type = Repository

    def __init__(
        self,
        session: AsyncSession,
        *,
        store: MediaStore,
        backend: MediaBackend | None = None,
        uploads: UploadPolicy | None = None,
        media_jobs: MediaJobs | None = None,
        storyboards: Callable[[UUID], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(session=session, **kwargs)
        # The media directory always holds the uploads' work files; the backend is where the
        # stored files live (that same directory, or a bucket).
        self.store = store
        self.backend = backend or LocalBackend(store)
        self.uploads = uploads or UploadPolicy(max_upload_bytes=Settings.max_upload_bytes)
        # Untrusted files are parsed in confined children; the app passes its one shared runner.
        self.media_jobs = media_jobs or MediaJobs(MediaLimits())
        # Asks for a stored video's storyboard, made in the background once the row commits.
        self.storyboards = storyboards

    @property
    def session(self) -> AsyncSession:
        return self.repository.session  # type: ignore[return-value]

    async def page_for_owner(self, owner_id: UUID, query: ListingQuery) -> GenerationPage:
        started = time.perf_counter()
        dialect = self.session.bind.dialect.name
        rows = (await self.session.execute(*page_statement(owner_id, query, dialect))).all()
        if rows and page_carries_total(bool(query.q), query.cursor is not None):
            total = int(rows[0].total)  # rows also prove the owner's account exists
        else:
            # An empty page (or a search after a cursor): the total statement reads the
            # owner's account row, so it also tells 0 from a gone account's 401.
            total = await self._total(owner_id, query, dialect)
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        items = await self.to_items(rows)
        next_cursor = query.cursor_for(rows[-1].created_at, rows[-1].id) if more else None
        elapsed = time.perf_counter() - started
        log_event(
            logger,
            "listing",
            user_id=owner_id,
            limit=query.limit,
            offset=query.offset,
            cursor=query.cursor is not None,
            status=query.status,
            sort=query.sort,
            q=clip(query.q),
            results=len(items),
            total=total,
        )
        if query.q:
            SEARCH_SECONDS.observe(elapsed)
            log_event(
                logger,
                "search",
                user_id=owner_id,
                term=clip(query.q),
                results=len(items),
                total=total,
                elapsed_ms=round(elapsed * 1000, 2),
            )
        return GenerationPage(
            total=total,
            limit=query.limit,
            offset=query.offset,
            next_cursor=next_cursor,
            generations=items,
        )

    async def _total(self, owner_id: UUID, query: ListingQuery, dialect: str) -> int:
        counted = (await self.session.execute(*total_statement(owner_id, query, dialect))).first()
        if counted is None:
            raise NotAuthenticated()
        return int(counted[0])

    async def item_for_owner(self, generation_id: UUID, owner_id: UUID) -> GenerationItem:
        row = (
            await self.session.execute(
                _ITEM_OF_OWNER, {"generation_id": generation_id, "owner_id": owner_id}
            )
        ).first()
        if row is None:
            await self._missing(owner_id, "Video not found")
        return (await self.to_items([row]))[0]

    async def video_for_owner(self, generation_id: UUID, owner_id: UUID) -> StoredMedia:
        """The caller's video that can be streamed: completed, with a file."""
        row = await self._media_row(generation_id, owner_id, "Video not found")
        if row.status != GenerationStatus.COMPLETED:
            raise BadRequest("Video not ready")
        if not row.video_path:
            raise NotFound("Video not found")
        return StoredMedia(row.video_path, row.media_version)

    async def thumbnail_for_owner(self, generation_id: UUID, owner_id: UUID) -> StoredMedia:
        row = await self._media_row(generation_id, owner_id, "Thumbnail not found")
        if not row.thumbnail_path:
            raise NotFound("Thumbnail not found")
        return StoredMedia(row.thumbnail_path, row.media_version)

    async def _media_row(self, generation_id: UUID, owner_id: UUID, missing: str) -> Any:
        row = (
            await self.session.execute(
                _MEDIA_OF_OWNER, {"generation_id": generation_id, "owner_id": owner_id}
            )
        ).first()
        if row is None:
            await self._missing(owner_id, missing)
        return row

    async def _missing(self, owner_id: UUID, detail: str) -> NoReturn:
        """Nothing matched the owner's statement: a missing item (404), or an account that no
        longer exists behind a still valid token (401). Only misses pay this second read."""
        if not await UserService(session=self.session).is_present(owner_id):
            raise NotAuthenticated()
        raise NotFound(detail)

    async def import_upload(
        self, owner_id: UUID, body: AsyncIterator[bytes], content_type: str | None
    ) -> GenerationItem:
        """Stream an upload to disk, check it is a playable video, store it as a completed
        generation. On any failure nothing remains: no row, no file, no temporary file.

        No database connection is held while the body streams or the file is probed: a slow
        or stalled client would otherwise keep a pooled connection, and a handful of them
        would starve every other request."""
        policy = self.uploads
        try:
            boundary = multipart_boundary(content_type)
            async with policy.slot(owner_id):
                limit = await self._upload_limit(owner_id)
                with journal.operation(self.store.incoming_dir(), "import") as op:
                    received = await receive_upload(
                        idle_cut(body, policy.idle_seconds),
                        boundary,
                        op.folder / "upload",
                        file_field="file",
                        max_file_bytes=limit.max_bytes,
                        too_large=limit.detail,
                    )
                    prompt = validate_prompt(received.fields.get("prompt"))
                    if received.file_path is None:
                        raise InvalidValue("Attach the video as the form field 'file'")
                    generation = await self._store_video(
                        owner_id, prompt, op, received.file_path, hold_account=True
                    )
        except DomainError:
            IMPORTS.labels("rejected").inc()
            raise
        return to_item(generation, file_available=True)

    async def _upload_limit(self, owner_id: UUID) -> UploadLimit:
        """How large this account's upload may grow (401 for a gone account), in one
        statement; then the session's connection goes back to the pool for the upload."""
        try:
            row = (await self.session.execute(_ACCOUNT_USAGE, {"owner_id": owner_id})).first()
        finally:
            await self.session.close()
        if row is None:
            raise NotAuthenticated()
        return upload_limit(self.uploads.max_upload_bytes, self.uploads.quota_bytes, row.used)

    async def _hold_account(self, owner_id: UUID, size: int) -> None:
        """In the insert's transaction: the account still exists (deleted while its upload
        streamed: 401, not a foreign-key failure), and its imports take turns here, so two
        that each fit alone cannot both be stored past the quota."""
        held = await self.session.execute(_HOLD_ACCOUNT, {"owner_id": owner_id})
        if held.rowcount != 1:  # type: ignore[attr-defined]
            raise NotAuthenticated()
        quota = self.uploads.quota_bytes
        if quota is None:
            return
        used = (await self.session.execute(_USED, {"owner_id": owner_id})).scalar_one()
        if used + size > quota:
            raise PayloadTooLarge(quota_detail(quota, used))

    async def import_file(
        self, owner_id: UUID, prompt: str, source: Path, **fields: Any
    ) -> Generation:
        """Import a file already on this machine (the demo account, the CLI)."""
        with journal.operation(self.store.incoming_dir(), "import") as op:
            upload = op.folder / "upload"
            await to_thread.run_sync(shutil.copyfile, source, upload)
            return await self._store_video(owner_id, validate_prompt(prompt), op, upload, **fields)

    async def _store_video(
        self,
        owner_id: UUID,
        prompt: str,
        op: journal.Operation,
        upload: Path,
        *,
        hold_account: bool = False,
        **fields: Any,
    ) -> Generation:
        generation_id = uuid4()

        async def insert(media: dict[str, Any]) -> Generation:
            now = datetime.now(UTC)
            values: dict[str, Any] = {
                "id": generation_id,
                "user_id": owner_id,
                "prompt": prompt,
                "status": GenerationStatus.COMPLETED,
                **media,
                "progress": None,
                # One moment for both: an import is created complete (created_at came from the
                # insert a few ms later, so completed_at preceded it).
                "created_at": now,
                "completed_at": now,
                **fields,
            }
            if hold_account:
                await self._hold_account(owner_id, media["file_size"])
            generation = await self.create(Generation(**values))
            item = to_item(generation, file_available=True)
            await emit(self.session, owner_id, "generation", msgspec.to_builtins(item))
            await self.commit_import()
            return generation

        generation = await self.attach_video(generation_id, owner_id, op, upload, insert)
        IMPORTS.labels("stored").inc()
        return generation

    async def delete_for_owner(self, generation_id: UUID, owner_id: UUID) -> None:
        """All or nothing, and once: the row is deleted first (not yet committed), which takes
        its write lock, so a concurrent delete of the same video waits for this one and then
        finds nothing (404) instead of both passing an ownership check (SQLite has no FOR
        UPDATE). Then the files go to the trash, the deletion commits, and the trash is emptied;
        a failure before the commit rolls back and puts every file back."""
        row = await self.delete_row(generation_id, owner_id)
        await emit(self.session, owner_id, "deleted", {"generation_id": str(generation_id)})
        wanted = {kind: relpath for kind, relpath in _stored_files(row) if relpath}
        report = await self._trash_and_commit(
            f"delete-{generation_id}",
            {"generation_id": str(generation_id)},
            wanted,
            generation_id=generation_id,
            user_id=owner_id,
        )
        DELETIONS.labels("deleted").inc()
        log_event(
            logger,
            "delete",
            generation_id=generation_id,
            user_id=owner_id,
            outcome="deleted",
            files=",".join(report) or "none",
        )

    async def delete_row(self, generation_id: UUID, owner_id: UUID) -> Any:
        """Delete the owner's row without committing; its stored paths come back. 403 where it
        is someone else's (nothing deleted), 404 where there is none (or a concurrent delete
        committed first), 401 where the account itself is gone."""
        params = {"generation_id": generation_id, "owner_id": owner_id}
        row = (await self.session.execute(_DELETE_OF_OWNER, params)).first()
        if row is not None:
            return row
        await self.session.rollback()  # give the write lock back before the reads below
        if await self.session.scalar(_OWNER_OF, params) is not None:
            raise Forbidden("You are not allowed to delete this video")
        await self._missing(owner_id, "Video not found")

    async def delete_library(
        self, owner_id: UUID, drop_owner: Callable[[], Awaitable[None]]
    ) -> int:
        """Delete every generation of the owner and every file of theirs, and, in the same
        transaction, whatever `drop_owner` deletes (the account's row): all or nothing. The
        account's row is locked first (PostgreSQL; SQLite's write lock comes with the first
        delete), so no import can slip a generation in whose files would be left behind.
        Returns how many generations went."""
        if await self.session.scalar(_LOCK_OWNER, {"owner_id": owner_id}) is None:
            raise NotAuthenticated()
        rows = (await self.session.execute(_DELETE_LIBRARY, {"owner_id": owner_id})).all()
        await drop_owner()
        await end_streams(self.session, owner_id)  # the account's open streams end with it
        wanted = {
            f"{row.id}.{kind}": relpath
            for row in rows
            for kind, relpath in _stored_files(row)
            if relpath
        }
        try:
            report = await self._trash_and_commit(
                f"close-{owner_id}", {"user_id": str(owner_id)}, wanted, user_id=owner_id
            )
        except StorageFailure:
            raise StorageFailure("The account could not be deleted; nothing was changed") from None
        DELETIONS.labels("deleted").inc(len(rows))
        log_event(
            logger,
            "delete",
            user_id=owner_id,
            outcome="deleted",
            generations=len(rows),
            files=f"{sum(1 for entry in report if entry.endswith('=removed'))} removed",
        )
        return len(rows)

    # The two commit points, named: the crash tests stop the process just before or after them.
    async def commit_import(self) -> None:
        await self.session.commit()

    async def commit_deletion(self) -> None:
        await self.session.commit()

    async def _trash_and_commit(
        self, label: str, manifest: dict[str, Any], wanted: files.FileSet, **context: Any
    ) -> list[str]:
        """Remove `wanted` as part of committing the session's deletion of their rows: all or
        nothing as the owner sees it (the backend says how)."""
        try:
            return await self.backend.delete(
                self.session, wanted, self.commit_deletion, label=label, manifest=manifest
            )
        except BaseException:
            _deletion_failed(step="store", **context)
            raise

    async def request(self, owner_id: UUID, wanted: GenerationRequest) -> GenerationItem:
        """A pending generation for a worker to make (`POST /api/generations`, JSON)."""
        prompt = validate_prompt(wanted.prompt)
        # Proves the account in the insert's transaction: a gone account is 401, not a
        # foreign-key failure.
        held = await self.session.execute(_HOLD_ACCOUNT, {"owner_id": owner_id})
        if held.rowcount != 1:  # type: ignore[attr-defined]
            raise NotAuthenticated()
        generation = await self.create(
            Generation(
                user_id=owner_id,
                prompt=prompt,
                status=GenerationStatus.PENDING,
                duration=wanted.duration,
                aspect_ratio=wanted.aspect_ratio,
                progress=0,
                attempts=0,
            )
        )
        item = to_item(generation, file_available=False)
        await emit(self.session, owner_id, "generation", msgspec.to_builtins(item))
        log_event(
            logger,
            "request",
            user_id=owner_id,
            generation_id=generation.id,
            duration=wanted.duration,
            aspect_ratio=wanted.aspect_ratio,
        )
        return item

    @contextlib.asynccontextmanager
    async def received_video(
        self, owner_id: UUID, body: AsyncIterator[bytes], content_type: str | None
    ) -> AsyncIterator[tuple[journal.Operation, ReceivedUpload]]:
        """A multipart body with a `file` streamed into a fresh import operation, under the
        import's rules (upload limit, the owner's quota, the idle cut-off), with no database
        connection held while it streams. The operation (and its files) ends with the block."""
        boundary = multipart_boundary(content_type)
        limit = await self._upload_limit(owner_id)
        with journal.operation(self.store.incoming_dir(), "import") as op:
            received = await receive_upload(
                idle_cut(body, self.uploads.idle_seconds),
                boundary,
                op.folder / "upload",
                file_field="file",
                max_file_bytes=limit.max_bytes,
                too_large=limit.detail,
            )
            if received.file_path is None:
                raise InvalidValue("Attach the video as the form field 'file'")
            yield op, received

    async def attach_video(
        self,
        generation_id: UUID,
        owner_id: UUID,
        op: journal.Operation,
        upload: Path,
        save: Callable[[dict[str, Any]], Awaitable[Saved]],
    ) -> Saved:
        """The import's pipeline, for an import's new row and a worker's result alike: probe,
        faststart and thumbnail in a media child (415 otherwise), place the files under the
        generation's names, then `save(media columns)`, which writes and commits. All or
        nothing: whatever `save` raises, the session rolls back and the files go."""
        try:
            prepared = await self.media_jobs.prepare(upload, op.folder)
        except NotAVideoError as exc:
            log_event(
                logger,
                "import",
                user_id=owner_id,
                generation_id=generation_id,
                outcome="rejected",
                reason=exc.reason,
            )
            raise UnsupportedMedia(exc.message) from exc
        version = new_media_version()

        async def save_media(stored: dict[str, str]) -> Saved:
            return await save(
                {
                    "video_path": stored["video"],
                    "thumbnail_path": stored["thumbnail"],
                    "media_version": version,
                    "duration": round(prepared.info.duration_seconds),
                    "width": prepared.info.width,
                    "height": prepared.info.height,
                    "file_size": prepared.size,
                }
            )

        saved = await self.backend.store(
            self.session,
            generation_id,
            version,
            {"video": prepared.video, "thumbnail": prepared.thumbnail},
            save_media,
            op=op,
        )
        if self.storyboards is not None:
            self.storyboards(generation_id)
        log_event(
            logger,
            "import",
            user_id=owner_id,
            generation_id=generation_id,
            outcome="stored",
            bytes=prepared.size,
            width=prepared.info.width,
            height=prepared.info.height,
            duration_s=round(prepared.info.duration_seconds, 2),
            codec=prepared.info.video_codec,
        )
        return saved

    async def to_items(self, rows: Sequence[Any]) -> list[GenerationItem]:
        completed = [
            row.video_path if row.status == GenerationStatus.COMPLETED else None for row in rows
        ]
        available = await self.backend.available(completed)
        return [to_item(row, file_available=ok) for row, ok in zip(rows, available, strict=True)]


def _stored_files(row: Any) -> tuple[tuple[str, str | None], ...]:
    """Every file a deleted row named, by kind."""
    return (
        ("video", row.video_path),
        ("thumbnail", row.thumbnail_path),
        ("storyboard", row.storyboard_path),
    )


def new_media_version() -> str:
    return secrets.token_urlsafe(9)


def _deletion_failed(*, step: str, **context: Any) -> None:
    DELETIONS.labels("failed").inc()
    log_event(logger, "delete", logging.ERROR, **context, outcome="failed", step=step)


def validate_prompt(raw: str | None) -> str:
    prompt = (raw or "").strip()
    if not prompt:
        raise InvalidValue("The prompt is required")
    if "\x00" in prompt:
        raise InvalidValue("The prompt cannot contain NUL characters")
    if len(prompt) > PROMPT_MAX:
        raise InvalidValue(f"The prompt must be at most {PROMPT_MAX} characters long")
    return prompt
