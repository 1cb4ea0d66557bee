from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from uuid import UUID

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

from reelvault.errors import Forbidden, NotFound
from reelvault.generations.models import Generation, GenerationStatus
from reelvault.generations.schemas import GenerationItem, GenerationPage, SortOrder, to_item
from reelvault.media.storage import MediaStore

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
        elapsed_ms = (time.perf_counter() - started) * 1000
        logger.info(
            "listing user_id=%s limit=%s offset=%s status=%s sort=%s results=%s total=%s",
            owner_id,
            query.limit,
            query.offset,
            query.status,
            query.sort,
            len(items),
            total,
        )
        if query.q:
            logger.info(
                "search user_id=%s term=%r results=%s total=%s elapsed_ms=%.1f",
                owner_id,
                query.q,
                len(items),
                total,
                elapsed_ms,
            )
        return GenerationPage(
            total=total, limit=query.limit, offset=query.offset, generations=items
        )

    async def item_for_owner(
        self, generation_id: UUID, owner_id: UUID, store: MediaStore
    ) -> GenerationItem:
        generation = await self.get_for_owner(generation_id, owner_id)
        return (await self.to_items([generation], store))[0]

    async def get_for_owner(
        self, generation_id: UUID, owner_id: UUID, *, foreign_is_forbidden: bool = False
    ) -> Generation:
        """The caller's generation; someone else's is as invisible as a missing one, except
        where the contract asks a 403 (deletion)."""
        generation = await self.get_one_or_none(id=generation_id)
        if generation is None:
            raise NotFound("Video not found")
        if generation.user_id != owner_id:
            if foreign_is_forbidden:
                raise Forbidden("You are not allowed to delete this video")
            raise NotFound("Video not found")
        return generation

    @staticmethod
    async def to_items(rows: list[Generation], store: MediaStore) -> list[GenerationItem]:
        def availability() -> list[bool]:
            return [
                row.status == GenerationStatus.COMPLETED and store.exists(row.video_path)
                for row in rows
            ]

        available = await to_thread.run_sync(availability)
        return [to_item(row, file_available=ok) for row, ok in zip(rows, available, strict=True)]
