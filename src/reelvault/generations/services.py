from __future__ import annotations

import logging
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from advanced_alchemy.exceptions import NotFoundError as RepositoryNotFoundError
from advanced_alchemy.filters import (
    CollectionFilter,
    LimitOffset,
    OrderBy,
    SearchFilter,
    StatementFilter,
)
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from anyio import to_thread
from sqlalchemy import delete as sa_delete

from reelvault.errors import (
    BadRequest,
    DomainError,
    Forbidden,
    InvalidValue,
    NotFound,
    StorageFailure,
    UnsupportedMedia,
)
from reelvault.generations import files
from reelvault.generations.models import Generation, GenerationStatus
from reelvault.generations.schemas import GenerationItem, GenerationPage, SortOrder, to_item
from reelvault.media import journal
from reelvault.media.errors import NotAVideoError
from reelvault.media.ingest import prepare_video
from reelvault.media.storage import MediaStore
from reelvault.media.upload import multipart_boundary, receive_upload
from reelvault.observability import DELETIONS, IMPORTS, SEARCH_SECONDS, clip, log_event

PROMPT_MAX = 2000

logger = logging.getLogger("reelvault.generations")


@dataclass(frozen=True)
class ListingQuery:
    limit: int = 20
    offset: int = 0
    status: GenerationStatus | None = None
    q: str | None = None
    sort: SortOrder = "created_at_desc"

    def filters(self) -> list[StatementFilter]:
        direction = "asc" if self.sort == "created_at_asc" else "desc"
        # `id` breaks ties between equal timestamps, so pages never repeat or skip an item.
        filters: list[StatementFilter] = [
            OrderBy("created_at", direction),
            OrderBy("id", direction),
            LimitOffset(limit=self.limit, offset=self.offset),
        ]
        if self.status is not None:
            filters.append(CollectionFilter("status", [self.status.value]))
        if self.q:
            # escape_wildcards: `%` and `_` in a prompt search are literal characters.
            filters.append(SearchFilter("prompt", self.q, ignore_case=True, escape_wildcards=True))
        return filters


class GenerationService(SQLAlchemyAsyncRepositoryService[Generation]):
    class Repository(SQLAlchemyAsyncRepository[Generation]):
        model_type = Generation

    repository_type = Repository

    async def page_for_owner(
        self, owner_id: UUID, query: ListingQuery, store: MediaStore
    ) -> GenerationPage:
        started = time.perf_counter()
        # A separate COUNT: the window-function count reports 0 for a page past the end.
        rows, total = await self.get_many_and_count(
            *query.filters(), user_id=owner_id, count_with_window_function=False
        )
        items = await self.to_items(rows, store)
        elapsed = time.perf_counter() - started
        log_event(
            logger,
            "listing",
            user_id=owner_id,
            limit=query.limit,
            offset=query.offset,
            status=query.status,
            sort=query.sort,
            q=query.q,
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
            total=total, limit=query.limit, offset=query.offset, generations=items
        )

    async def item_for_owner(
        self, generation_id: UUID, owner_id: UUID, store: MediaStore
    ) -> GenerationItem:
        generation = await self.get_for_owner(generation_id, owner_id)
        return (await self.to_items([generation], store))[0]

    async def playable_for_owner(self, generation_id: UUID, owner_id: UUID) -> Generation:
        """The caller's generation whose video can be streamed: completed, with a file path."""
        generation = await self.get_for_owner(generation_id, owner_id)
        if generation.status != GenerationStatus.COMPLETED:
            raise BadRequest("Video not ready")
        if not generation.video_path:
            raise NotFound("Video not found")
        return generation

    async def with_thumbnail_for_owner(self, generation_id: UUID, owner_id: UUID) -> Generation:
        generation = await self.get_for_owner(generation_id, owner_id)
        if not generation.thumbnail_path:
            raise NotFound("Thumbnail not found")
        return generation

    async def get_for_owner(
        self, generation_id: UUID, owner_id: UUID, *, for_deletion: bool = False
    ) -> Generation:
        """The caller's generation; someone else's is as invisible as a missing one, except
        for a deletion, where the contract asks a 403.

        A deletion also locks the row (PostgreSQL): a concurrent delete of the same video
        waits, then finds it gone and answers 404 instead of reporting a second success."""
        generation = await self.get_one_or_none(
            id=generation_id, with_for_update=True if for_deletion else None
        )
        if generation is None:
            raise NotFound("Video not found")
        if generation.user_id != owner_id:
            if for_deletion:
                raise Forbidden("You are not allowed to delete this video")
            raise NotFound("Video not found")
        return generation

    async def import_upload(
        self,
        owner_id: UUID,
        body: AsyncIterator[bytes],
        content_type: str | None,
        store: MediaStore,
        max_upload_bytes: int,
    ) -> GenerationItem:
        """Stream an upload to disk, check it is a playable video, store it as a completed
        generation. On any failure nothing remains: no row, no file, no temporary file."""
        try:
            boundary = multipart_boundary(content_type)
            with journal.operation(store.incoming_dir(), "import") as op:
                received = await receive_upload(
                    body,
                    boundary,
                    op.folder / "upload",
                    file_field="file",
                    max_file_bytes=max_upload_bytes,
                )
                prompt = validate_prompt(received.fields.get("prompt"))
                if received.file_path is None:
                    raise InvalidValue("Attach the video as the form field 'file'")
                generation = await self._store_video(
                    owner_id, prompt, op, received.file_path, store
                )
        except DomainError:
            IMPORTS.labels("rejected").inc()
            raise
        return to_item(generation, file_available=True)

    async def import_file(
        self, owner_id: UUID, prompt: str, source: Path, store: MediaStore, **fields: Any
    ) -> Generation:
        """Import a file already on this machine (the demo account, the CLI)."""
        with journal.operation(store.incoming_dir(), "import") as op:
            upload = op.folder / "upload"
            await to_thread.run_sync(shutil.copyfile, source, upload)
            return await self._store_video(
                owner_id, validate_prompt(prompt), op, upload, store, **fields
            )

    async def _store_video(
        self,
        owner_id: UUID,
        prompt: str,
        op: journal.Operation,
        upload: Path,
        store: MediaStore,
        **fields: Any,
    ) -> Generation:
        try:
            prepared = await to_thread.run_sync(prepare_video, upload, op.folder)
        except NotAVideoError as exc:
            raise UnsupportedMedia(exc.message) from exc
        generation_id = uuid4()
        placed = await to_thread.run_sync(files.place_imported, store, op, generation_id, prepared)
        now = datetime.now(UTC)
        values: dict[str, Any] = {
            "id": generation_id,
            "user_id": owner_id,
            "prompt": prompt,
            "status": GenerationStatus.COMPLETED,
            "video_path": placed["video"],
            "thumbnail_path": placed["thumbnail"],
            "duration": round(prepared.info.duration_seconds),
            "width": prepared.info.width,
            "height": prepared.info.height,
            "file_size": prepared.size,
            "progress": None,
            "completed_at": now,
            **fields,
        }
        try:
            generation = await self.create(Generation(**values), auto_commit=True)
        except BaseException:
            await self.repository.session.rollback()
            await to_thread.run_sync(files.remove_placed, store, placed)
            raise
        IMPORTS.labels("stored").inc()
        log_event(
            logger,
            "import",
            user_id=owner_id,
            generation_id=generation_id,
            bytes=prepared.size,
            width=prepared.info.width,
            height=prepared.info.height,
            duration_s=round(prepared.info.duration_seconds, 2),
            codec=prepared.info.video_codec,
        )
        return generation

    async def delete_for_owner(
        self, generation_id: UUID, owner_id: UUID, store: MediaStore
    ) -> None:
        """All or nothing: files go to the trash, the row is deleted and committed, then the
        trash is emptied. A failure before the commit puts every file back."""
        generation = await self.get_for_owner(generation_id, owner_id, for_deletion=True)
        wanted = {"video": generation.video_path, "thumbnail": generation.thumbnail_path}
        with journal.operation(store.trash_dir(), f"delete-{generation_id}") as op:
            try:
                moved, report = await to_thread.run_sync(
                    files.move_to_trash, store, op, generation_id, wanted
                )
            except StorageFailure:
                _deletion_failed(generation_id, owner_id, step="move-files")
                raise
            try:
                await self.delete_row(generation_id)
            except RepositoryNotFoundError:
                # A concurrent delete of the same video won the race: it owns the files now.
                await self.repository.session.rollback()
                await to_thread.run_sync(files.restore_from_trash, store, op, moved)
                raise NotFound("Video not found") from None
            except BaseException:
                await self.repository.session.rollback()
                await to_thread.run_sync(files.restore_from_trash, store, op, moved)
                _deletion_failed(generation_id, owner_id, step="commit")
                logger.exception("delete generation_id=%s: the commit failed", generation_id)
                raise StorageFailure() from None
            report += await to_thread.run_sync(files.purge_trash, op, moved)
        DELETIONS.labels("deleted").inc()
        log_event(
            logger,
            "delete",
            generation_id=generation_id,
            user_id=owner_id,
            outcome="deleted",
            files=",".join(report) or "none",
        )

    async def delete_row(self, generation_id: UUID) -> None:
        """Delete and commit, checking that this statement is the one that removed the row:
        on SQLite a concurrent delete can pass the ownership check before either commits."""
        session = self.repository.session
        result = await session.execute(sa_delete(Generation).where(Generation.id == generation_id))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise RepositoryNotFoundError("Video not found")
        await session.commit()

    @staticmethod
    async def to_items(rows: list[Generation], store: MediaStore) -> list[GenerationItem]:
        def availability() -> list[bool]:
            return [
                row.status == GenerationStatus.COMPLETED and store.exists(row.video_path)
                for row in rows
            ]

        available = await to_thread.run_sync(availability)
        return [to_item(row, file_available=ok) for row, ok in zip(rows, available, strict=True)]


def _deletion_failed(generation_id: UUID, owner_id: UUID, *, step: str) -> None:
    DELETIONS.labels("failed").inc()
    log_event(
        logger,
        "delete",
        logging.ERROR,
        generation_id=generation_id,
        user_id=owner_id,
        outcome="failed",
        step=step,
        files="restored",
    )


def validate_prompt(raw: str | None) -> str:
    prompt = (raw or "").strip()
    if not prompt:
        raise InvalidValue("The prompt is required")
    if "\x00" in prompt:
        raise InvalidValue("The prompt cannot contain NUL characters")
    if len(prompt) > PROMPT_MAX:
        raise InvalidValue(f"The prompt must be at most {PROMPT_MAX} characters long")
    return prompt
