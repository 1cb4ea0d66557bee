from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

from reelvault.generations.models import GenerationStatus


class GenerationItem(msgspec.Struct):
    id: UUID
    prompt: str
    status: GenerationStatus
    video_url: str | None
    thumbnail_url: str | None
    # The seek-preview storyboard (WebVTT naming tiles of a sprite); null until one is made.
    storyboard_url: str | None
    duration: int
    cost: float | None
    width: int | None
    height: int | None
    file_size: int | None
    file_available: bool
    progress: int | None
    error: str | None
    # As requested (null for an import); how many times a worker took it (0 for an import).
    aspect_ratio: str | None
    attempts: int
    created_at: datetime
    completed_at: datetime | None


class GenerationPage(msgspec.Struct):
    total: int
    limit: int
    offset: int
    # Pass it back as `cursor` for the page after this one; null on the last page.
    next_cursor: str | None
    generations: list[GenerationItem]


AspectRatio = Literal["9:16", "16:9", "1:1"]


class GenerationRequest(msgspec.Struct, forbid_unknown_fields=True):
    """`POST /api/generations` with a JSON body: a generation for a worker to make."""

    prompt: Annotated[str, msgspec.Meta(min_length=1, max_length=2000, pattern=r"^[^\x00]*$")]
    duration: Annotated[int, msgspec.Meta(ge=1, le=60, description="Seconds")] = 15
    aspect_ratio: AspectRatio = "9:16"


class DeletedGeneration(msgspec.Struct):
    generation_id: UUID
    message: str = "Video deleted successfully"


def video_url(generation_id: UUID, version: str | None = None) -> str:
    return _versioned(f"/api/video/{generation_id}", version)


def thumbnail_url(generation_id: UUID, version: str | None = None) -> str:
    return _versioned(f"/api/thumbnail/{generation_id}", version)


def storyboard_url(generation_id: UUID, version: str | None = None) -> str:
    return _versioned(f"/api/storyboard/{generation_id}", version)


def storyboard_sprite_url(generation_id: UUID, version: str | None = None) -> str:
    return _versioned(f"/api/storyboard/{generation_id}/sprite.jpg", version)


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
        # A storyboard is made once per version of the video: it shares the video's version.
        storyboard_url=(
            storyboard_url(row.id, row.media_version) if completed and row.storyboard_path else None
        ),
        duration=row.duration,
        cost=row.cost,
        width=row.width,
        height=row.height,
        file_size=row.file_size,
        file_available=completed and file_available,
        progress=row.progress if in_flight else None,
        error=row.error if status == GenerationStatus.FAILED else None,
        aspect_ratio=row.aspect_ratio,
        attempts=row.attempts or 0,
        created_at=row.created_at,
        completed_at=row.completed_at,
    )
