"""Answer a media request for a file the caller is allowed to read: our own range engine in
direct mode, or an `X-Accel-Redirect` that lets Nginx send the bytes in accel mode."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote
from uuid import UUID

from anyio import to_thread
from litestar import Response

from reelvault.delivery.objects import ObjectDelivery
from reelvault.delivery.ranges import ByteRange, Plan, RequestHeaders, make_etag, plan_response
from reelvault.delivery.streaming import build_response, read_span
from reelvault.errors import NotFound
from reelvault.observability import clip, log_event
from reelvault.storage.objects import ObjectStore
from reelvault.storage.store import MediaStore, OutsideMediaDirectory, SymlinkInMediaPath

logger = logging.getLogger("reelvault.media")

VIDEO_TYPE = "video/mp4"
THUMBNAIL_TYPE = "image/jpeg"
THUMBNAIL_CACHE = "private, max-age=86400"
VIDEO_CACHE = "private"
# A URL whose `?v=` names the current bytes never changes meaning: no revalidation, ever.
IMMUTABLE_CACHE = "private, max-age=31536000, immutable"


@dataclass(frozen=True)
class MediaFile:
    generation_id: UUID
    owner_id: UUID
    relpath: str
    content_type: str
    content_disposition: str
    cache_control: str
    not_found: str


def video_file(
    generation_id: UUID, owner_id: UUID, relpath: str, *, immutable: bool = False
) -> MediaFile:
    return MediaFile(
        generation_id,
        owner_id,
        relpath,
        VIDEO_TYPE,
        f'attachment; filename="ad_{generation_id}.mp4"',
        IMMUTABLE_CACHE if immutable else VIDEO_CACHE,
        "Video not found",
    )


def thumbnail_file(
    generation_id: UUID, owner_id: UUID, relpath: str, *, immutable: bool = False
) -> MediaFile:
    return MediaFile(
        generation_id,
        owner_id,
        relpath,
        THUMBNAIL_TYPE,
        f'inline; filename="thumbnail_{generation_id}.jpg"',
        IMMUTABLE_CACHE if immutable else THUMBNAIL_CACHE,
        "Thumbnail not found",
    )


def storyboard_file(
    generation_id: UUID, owner_id: UUID, relpath: str, *, immutable: bool = False
) -> MediaFile:
    """The storyboard's sprite: cached like the thumbnail (its URL's version is the video's)."""
    return MediaFile(
        generation_id,
        owner_id,
        relpath,
        THUMBNAIL_TYPE,
        f'inline; filename="storyboard_{generation_id}.jpg"',
        IMMUTABLE_CACHE if immutable else THUMBNAIL_CACHE,
        "Storyboard not found",
    )


# Answers up to this size are read in one go; larger ones stream in bounded chunks.
SMALL_BODY_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class PlannedAnswer:
    # The file itself, open, for a body still to stream (the response closes it); otherwise
    # its path, which nothing reads again.
    source: Path | BinaryIO
    size: int
    etag: str
    last_modified: int
    plan: Plan
    body: bytes | None


def planned_bytes(plan: Plan, size: int) -> int:
    if plan.ranges:
        return sum(r.length for r in plan.ranges)
    return size if plan.status == 200 else 0


@dataclass(frozen=True)
class MediaDelivery:
    store: MediaStore
    mode: str = "direct"
    accel_prefix: str = "/_protected_media/"
    # With an object store, every media answer comes from it (delivery/objects.py).
    objects: ObjectStore | None = None
    presign_seconds: int = 300
    s3_accel_prefix: str = "/_s3_media/"

    @cached_property
    def from_store(self) -> ObjectDelivery | None:
        if self.objects is None:
            return None
        return ObjectDelivery(self.objects, self.mode, self.presign_seconds, self.s3_accel_prefix)

    async def respond(
        self, media: MediaFile, method: str, headers: Mapping[str, str], *, accel: bool = True
    ) -> Response[Any]:
        if self.from_store is not None:
            return await self.from_store.respond(media, method, headers, accel=accel)
        if accel and self.mode == "accel":
            await to_thread.run_sync(self._locate, media)  # a missing file is our JSON 404
            return self._accel_response(media)
        wanted = RequestHeaders.from_mapping(headers)
        # One trip to a worker thread: open, stat, plan, and for a small answer (a thumbnail,
        # a player's probe, a 64 KiB seek) the bytes themselves; a thread hand-off for each
        # of those would cost more than the read.
        answer = await to_thread.run_sync(self._plan_and_read_small, media, method, wanted)
        plan = answer.plan
        log_event(
            logger,
            "media",
            generation_id=media.generation_id,
            user_id=media.owner_id,
            content_type=media.content_type,
            method=method,
            status=int(plan.status),
            bytes=0 if method == "HEAD" else planned_bytes(plan, answer.size),
            range=clip(wanted.range),
        )
        return build_response(
            plan,
            answer.source,
            size=answer.size,
            etag=answer.etag,
            last_modified=answer.last_modified,
            content_type=media.content_type,
            content_disposition=media.content_disposition,
            cache_control=media.cache_control,
            is_head=method == "HEAD",
            body=answer.body,
        )

    def _plan_and_read_small(
        self, media: MediaFile, method: str, wanted: RequestHeaders
    ) -> PlannedAnswer:
        """Open, stat and plan in one go, and read a small body at once. A larger body streams
        from this same open file: a deletion that unlinks the file once the answer has started
        cannot cut it short, and one that came first is a clean 404 here."""
        handle, stat = self._open(media)
        streams = False
        try:
            size = stat.st_size
            etag = make_etag(size, stat.st_mtime_ns)
            last_modified = int(stat.st_mtime)
            plan = plan_response(method, size, etag, last_modified, wanted)
            body = None
            if method != "HEAD" and plan.status in (200, 206) and (plan.ranges or size):
                span = plan.ranges[0] if plan.ranges else ByteRange(0, size - 1)
                if not plan.is_multipart and span.length <= SMALL_BODY_BYTES:
                    body = read_span(handle, span)
                else:
                    streams = True
            source: Path | BinaryIO = handle if streams else self.store.root / media.relpath
            return PlannedAnswer(source, size, etag, last_modified, plan, body)
        finally:
            if not streams:
                handle.close()

    def _locate(self, media: MediaFile) -> None:
        """Accel mode: that the file is there and reached without a link; Nginx sends it."""
        handle, _ = self._open(media)
        handle.close()

    def _open(self, media: MediaFile) -> tuple[BinaryIO, os.stat_result]:
        try:
            return self.store.open(media.relpath)
        except SymlinkInMediaPath:
            logger.error(
                "media generation_id=%s refused: stored path passes through a symbolic link: %r",
                media.generation_id,
                media.relpath,
            )
        except OutsideMediaDirectory:
            logger.error(
                "media generation_id=%s refused: stored path leaves the media directory: %r",
                media.generation_id,
                media.relpath,
            )
        except FileNotFoundError:
            logger.error(
                "media generation_id=%s file missing on disk: %s",
                media.generation_id,
                self.store.root / media.relpath,
            )
        raise NotFound(media.not_found)

    def _accel_response(self, media: MediaFile) -> Response[Any]:
        log_event(
            logger,
            "media",
            generation_id=media.generation_id,
            user_id=media.owner_id,
            content_type=media.content_type,
            status="accel",
            range=None,
        )
        return Response(
            content=b"",
            headers={
                "X-Accel-Redirect": self.accel_prefix + quote(media.relpath, safe="/"),
                "Content-Type": media.content_type,
                "Content-Disposition": media.content_disposition,
                "Cache-Control": media.cache_control,
            },
        )
