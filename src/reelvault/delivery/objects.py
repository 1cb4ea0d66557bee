"""Answer a media request from the object store, in the three delivery modes.

Every answer starts with one HEAD of the object: a missing one is our JSON 404, and its size,
ETag and Last-Modified feed the same range engine as local files (`ranges.plan_response`), so
preconditions, If-Range and the Range rules are ours in every mode. The store's own ETag is
the validator: the one value a client sees whether the app, Nginx or the store sends the bytes.

- direct: the app streams the planned ranges, one ranged GET each, a chunk at a time (memory
  stays bounded however large the object); a small answer is one read. The first GET is
  opened before the status line, so a store that fails then is a clean 503; one that fails
  later cuts the body short (logged), never a 200 that pretends to be whole.
- redirect: a 302 to a presigned GET that carries the response headers, signed. The browser
  then asks the store with its own Range, so the app redirects only where the store will
  answer exactly as planned; otherwise (several ranges, If-Range, a Range we ignore) it
  answers itself, as it does every HEAD (a presigned GET does not sign HEAD), 304, 412, 416.
- accel: `X-Accel-Redirect` to Nginx's internal location with the presigned URL and the one
  planned range (`X-S3-Range`); Nginx proxies it. Nginx's slice cache may take the request
  where its own range handling agrees with the plan (`X-S3-Slice: on`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Protocol
from urllib.parse import quote
from uuid import UUID

from litestar import Response
from litestar.background_tasks import BackgroundTask
from litestar.response import Stream

from reelvault.delivery.ranges import (
    ByteRange,
    Plan,
    RequestHeaders,
    make_etag,
    parse_range_header,
    plan_response,
)
from reelvault.delivery.streaming import (
    _closing_delimiter,
    _part_head,
    build_response,
    new_boundary,
    response_headers,
)
from reelvault.errors import NotFound
from reelvault.observability import clip, log_event
from reelvault.storage.objects import ObjectInfo, ObjectMissing, ObjectStore, StoreUnavailable

logger = logging.getLogger("reelvault.media")

# Answers up to this size are read in one GET; larger ones stream in chunks of this size.
SMALL_BODY_BYTES = 256 * 1024
STREAM_CHUNK_BYTES = 256 * 1024
REDIRECT_CACHE = "private, no-store"


class StoredMedia(Protocol):
    """What the responder knows of the file to send (its `MediaFile`)."""

    @property
    def generation_id(self) -> UUID: ...
    @property
    def owner_id(self) -> UUID: ...
    @property
    def relpath(self) -> str: ...
    @property
    def content_type(self) -> str: ...
    @property
    def content_disposition(self) -> str: ...
    @property
    def cache_control(self) -> str: ...
    @property
    def not_found(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Validators:
    size: int
    etag: str  # quoted, strong
    last_modified: int  # epoch seconds, as Last-Modified says


def validators(info: ObjectInfo) -> Validators:
    """The object's validators: the store's ETag (stable for the object's life, and what
    the store itself sends in accel and redirect mode), else one made of size and date."""
    last_modified = int(info.last_modified.timestamp())
    etag = f'"{info.etag}"' if info.etag else make_etag(info.size, last_modified * 10**9)
    return Validators(info.size, etag, last_modified)


def _single_spec(wanted: RequestHeaders) -> bool:
    """The Range header names exactly one range (so any HTTP server reads it as we do)."""
    if wanted.range is None:
        return False
    specs = parse_range_header(wanted.range, max_specs=2)
    return specs is not None and len(specs) == 1


def store_answers_as_planned(plan: Plan, wanted: RequestHeaders) -> bool:
    """Whether a client that repeats its own request to the store (redirect mode) or to
    Nginx's range filter (the slice cache) gets what we planned: the whole object asked
    without a Range, or one range asked as one range. The store has no If-Range and no
    multi-range answers, and it may read a Range we ignore differently."""
    has_range = wanted.range is not None and wanted.range.strip(" \t") != ""
    has_if_range = wanted.if_range is not None and wanted.if_range.strip(" \t") != ""
    if plan.status == HTTPStatus.OK:
        return not has_range
    if plan.status == HTTPStatus.PARTIAL_CONTENT:
        return not plan.is_multipart and not has_if_range and _single_spec(wanted)
    return False


def store_range(plan: Plan) -> str | None:
    """The Range to ask the store for in accel mode: the planned one, normalised."""
    if plan.status != HTTPStatus.PARTIAL_CONTENT or plan.is_multipart:
        return None
    (only,) = plan.ranges
    return f"bytes={only.start}-{only.end}"


def body_bytes(plan: Plan, size: int) -> int:
    if plan.ranges:
        return sum(r.length for r in plan.ranges)
    return size if plan.status == HTTPStatus.OK else 0


@dataclass(frozen=True)
class ObjectDelivery:
    objects: ObjectStore
    mode: str = "direct"
    presign_seconds: int = 300
    accel_prefix: str = "/_s3_media/"
    chunk_size: int = STREAM_CHUNK_BYTES

    async def respond(
        self, media: StoredMedia, method: str, headers: Mapping[str, str], *, accel: bool = True
    ) -> Response[Any]:
        """`accel=False` (thumbnails) keeps Nginx out of it; a redirect is still fine."""
        info = await self._head(media)
        found = validators(info)
        wanted = RequestHeaders.from_mapping(headers)
        plan = plan_response(method, found.size, found.etag, found.last_modified, wanted)
        reads = method == "GET" and plan.status in (HTTPStatus.OK, HTTPStatus.PARTIAL_CONTENT)
        if reads and self.mode == "redirect" and store_answers_as_planned(plan, wanted):
            return await self._redirect(media, wanted)
        # Nginx proxies one GET: the whole object or one range; several ranges are ours.
        proxied = plan.status == HTTPStatus.OK or store_range(plan) is not None
        if reads and accel and self.mode == "accel" and proxied:
            return await self._accel(media, plan, wanted)
        return await self._direct(media, method, plan, found, wanted)

    async def _head(self, media: StoredMedia) -> ObjectInfo:
        info = await self.objects.head(media.relpath)  # StoreUnavailable: a 503
        if info is None:
            logger.error(
                "media generation_id=%s object missing in the store: %s",
                media.generation_id,
                self.objects.prefix + media.relpath,  # as stored, even a refused one
            )
            raise NotFound(media.not_found)
        return info

    def _log(self, media: StoredMedia, method: str, status: int | str, **fields: Any) -> None:
        log_event(
            logger,
            "media",
            generation_id=media.generation_id,
            user_id=media.owner_id,
            content_type=media.content_type,
            method=method,
            status=status,
            **fields,
        )

    async def _presign(self, media: StoredMedia) -> str:
        return await self.objects.presign(
            media.relpath,
            expires_seconds=self.presign_seconds,
            content_type=media.content_type,
            content_disposition=media.content_disposition,
            cache_control=media.cache_control,
        )

    async def _redirect(self, media: StoredMedia, wanted: RequestHeaders) -> Response[Any]:
        url = await self._presign(media)
        self._log(media, "GET", "redirect", range=clip(wanted.range))
        # The URL is a short-lived credential: neither it nor the redirect is to be kept.
        return Response(
            content=b"",
            status_code=HTTPStatus.FOUND,
            headers={"Location": url, "Cache-Control": REDIRECT_CACHE},
        )

    async def _accel(self, media: StoredMedia, plan: Plan, wanted: RequestHeaders) -> Response[Any]:
        url = await self._presign(media)
        headers = {
            "X-Accel-Redirect": self.accel_prefix + quote(media.relpath, safe="/"),
            "X-S3-Url": url,
            "Content-Type": media.content_type,
            "Content-Disposition": media.content_disposition,
            "Cache-Control": media.cache_control,
        }
        wanted_range = store_range(plan)
        if wanted_range is not None:
            headers["X-S3-Range"] = wanted_range
        if store_answers_as_planned(plan, wanted):
            headers["X-S3-Slice"] = "on"
        self._log(media, "GET", "accel", range=clip(wanted.range))
        return Response(content=b"", headers=headers)

    async def _direct(
        self,
        media: StoredMedia,
        method: str,
        plan: Plan,
        found: Validators,
        wanted: RequestHeaders,
    ) -> Response[Any]:
        self._log(
            media,
            method,
            int(plan.status),
            bytes=0 if method == "HEAD" else body_bytes(plan, found.size),
            range=clip(wanted.range),
        )
        common = {
            "size": found.size,
            "etag": found.etag,
            "last_modified": found.last_modified,
            "content_type": media.content_type,
            "content_disposition": media.content_disposition,
            "cache_control": media.cache_control,
        }
        sends = method != "HEAD" and plan.status in (HTTPStatus.OK, HTTPStatus.PARTIAL_CONTENT)
        if not sends or found.size == 0:
            return build_response(plan, "", is_head=method == "HEAD", body=b"", **common)
        spans = plan.ranges or (ByteRange(0, found.size - 1),)
        if len(spans) == 1 and spans[0].length <= SMALL_BODY_BYTES:
            body = await self._read(media, spans[0])
            return build_response(plan, "", is_head=False, body=body, **common)
        boundary = new_boundary() if plan.is_multipart else None
        headers = response_headers(plan, boundary=boundary, **common)
        if boundary is None:
            chunks = self._span(media, spans[0])
        else:
            chunks = self._multipart(media, spans, found.size, boundary)
        expected = int(headers["Content-Length"])
        # The first GET is answered before the status line: a store down now is a 503.
        first = await _first(chunks, media)
        body = _logged_cut(first, chunks, media, expected)
        # Closed as soon as the response ends, a client that left included: the store's
        # connection goes back to the pool at once, not when the generator is collected.
        return Stream(
            body,
            status_code=int(plan.status),
            headers=headers,
            background=BackgroundTask(_close, body),
        )

    async def _read(self, media: StoredMedia, span: ByteRange) -> bytes:
        try:
            data = await self.objects.read(media.relpath, span.start, span.end)
        except ObjectMissing:
            raise NotFound(media.not_found) from None
        except StoreUnavailable:
            raise
        except Exception as exc:  # the HTTP client's own errors (a connection cut mid-body)
            logger.error(
                "media generation_id=%s read failed: %s", media.generation_id, type(exc).__name__
            )
            raise StoreUnavailable() from exc
        if len(data) != span.length:
            logger.error(
                "media generation_id=%s object %s answered %d bytes for %d",
                media.generation_id,
                media.relpath,
                len(data),
                span.length,
            )
            raise StoreUnavailable()
        return data

    async def _span(self, media: StoredMedia, span: ByteRange) -> AsyncGenerator[bytes, None]:
        chunks = self.objects.stream(media.relpath, span.start, span.end, self.chunk_size)
        async for chunk in chunks:
            yield chunk

    async def _multipart(
        self, media: StoredMedia, spans: tuple[ByteRange, ...], size: int, boundary: str
    ) -> AsyncGenerator[bytes, None]:
        """`multipart/byteranges`, as `streaming.iter_multipart` writes it, one GET per part.
        Each part head goes out with its first chunk, so the first item needs the first GET."""
        for span in spans:
            head = _part_head(span, size=size, content_type=media.content_type, boundary=boundary)
            async for chunk in self._span(media, span):
                if head:
                    chunk, head = head + chunk, b""
                yield chunk
            yield b"\r\n"
        yield _closing_delimiter(boundary)


async def _first(chunks: AsyncGenerator[bytes, None], media: StoredMedia) -> bytes:
    """The body's first chunk, read before the status line: whatever goes wrong is still a
    clean answer (404 for an object deleted since the HEAD, 503 for a store that failed)."""
    try:
        return await anext(chunks)
    except ObjectMissing:
        await chunks.aclose()
        raise NotFound(media.not_found) from None
    except StoreUnavailable:
        await chunks.aclose()
        raise
    except Exception as exc:  # the HTTP client's own errors, a body that ended short
        await chunks.aclose()
        logger.error(
            "media generation_id=%s first read failed: %s: %s",
            media.generation_id,
            type(exc).__name__,
            exc,
        )
        raise StoreUnavailable() from exc


async def _close(body: AsyncGenerator[bytes, None]) -> None:
    # A coroutine function on purpose: Litestar runs any other callable in a worker thread.
    await body.aclose()


async def _logged_cut(
    first: bytes, chunks: AsyncGenerator[bytes, None], media: StoredMedia, expected: int
) -> AsyncGenerator[bytes, None]:
    """The body, its first chunk already read; a store that fails after the status line
    ends the connection short of Content-Length (the client sees a cut body) and is logged."""
    sent = len(first)
    try:
        yield first
        async for chunk in chunks:
            sent += len(chunk)
            yield chunk
    except Exception as exc:
        logger.error(
            "media generation_id=%s body cut after %d of %d bytes: the store failed: %s",
            media.generation_id,
            sent,
            expected,
            type(exc).__name__,
        )
        raise
    finally:
        await chunks.aclose()
