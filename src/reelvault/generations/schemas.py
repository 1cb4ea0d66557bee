from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from reelvault.generations.models import GenerationStatus


class GenerationItem(msgspec.Struct):
    id: UUID
    prompt: str
    status: GenerationStatus
    video_url: str | None
    thumbnail_url: str | None
    duration: int
    cost: float | None
    width: int | None
    height: int | None
    file_size: int | None
    file_available: bool
    progress: int | None
    error: str | None
    created_at: datetime
    completed_at: datetime | None


class GenerationPage(msgspec.Struct):
    total: int
    limit: int
    offset: int
    # Pass it back as `cursor` for the page after this one; null on the last page.
    next_cursor: str | None
    generations: list[GenerationItem]


class DeletedGeneration(msgspec.Struct):
    generation_id: UUID
    message: str = "Video deleted successfully"


def video_url(generation_id: UUID, version: str | None = None) -> str:
    return _versioned(f"/api/video/{generation_id}", version)


def thumbnail_url(generation_id: UUID, version: str | None = None) -> str:
    return _versioned(f"/api/thumbnail/{generation_id}", version)


def _versioned(path: str, version: str | None) -> str:
    return f"{path}?v={version}" if version else path


def to_item(row: Any, *, file_available: bool) -> GenerationItem:
    """A `GenerationItem` from a `Generation` or a row of `listing.ITEM_COLUMNS`."""
    status = GenerationStatus(row.status)
    completed = status == GenerationStatus.COMPLETED
    in_flight = status in (GenerationStatus.PENDING, GenerationStatus.PROCESSING)
    return GenerationItem(
        id=row.id,
        prompt=row.prompt,
        status=status,
        video_url=video_url(row.id, row.media_version) if completed and row.video_path else None,
        thumbnail_url=thumbnail_url(row.id, row.media_version) if row.thumbnail_path else None,
        duration=row.duration,
        cost=row.cost,
        width=row.width,
        height=row.height,
        file_size=row.file_size,
        file_available=completed and file_available,
        progress=row.progress if in_flight else None,
        error=row.error if status == GenerationStatus.FAILED else None,
        created_at=row.created_at,
        completed_at=row.completed_at,
    )
