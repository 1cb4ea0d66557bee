from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

import msgspec

from reelvault.generations.models import Generation, GenerationStatus

SortOrder = Literal["created_at_desc", "created_at_asc"]


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
    generations: list[GenerationItem]


class DeletedGeneration(msgspec.Struct):
    generation_id: UUID
    message: str = "Video deleted successfully"


def video_url(generation_id: UUID) -> str:
    return f"/api/video/{generation_id}"


def thumbnail_url(generation_id: UUID) -> str:
    return f"/api/thumbnail/{generation_id}"


def to_item(generation: Generation, *, file_available: bool) -> GenerationItem:
    completed = generation.status == GenerationStatus.COMPLETED
    in_flight = generation.status in (GenerationStatus.PENDING, GenerationStatus.PROCESSING)
    return GenerationItem(
        id=generation.id,
        prompt=generation.prompt,
        status=GenerationStatus(generation.status),
        video_url=video_url(generation.id) if completed and generation.video_path else None,
        thumbnail_url=thumbnail_url(generation.id) if generation.thumbnail_path else None,
        duration=generation.duration,
        cost=generation.cost,
        width=generation.width,
        height=generation.height,
        file_size=generation.file_size,
        file_available=completed and file_available,
        progress=generation.progress if in_flight else None,
        error=generation.error if generation.status == GenerationStatus.FAILED else None,
        created_at=generation.created_at,
        completed_at=generation.completed_at,
    )
