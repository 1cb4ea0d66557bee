"""Turn a range `Plan` into bytes and a Litestar response: the I/O edge of `ranges.py`.

A body is read from a file that is already open (the responder opens it before answering, so
a deletion that unlinks the file after the status line went out cannot cut the body short:
the open file keeps its bytes), or from a path opened on first read. Reads are `pread`s of
bounded chunks in worker threads, so memory does not grow with the file's size. Every body
iterator closes its file when it is exhausted, closed (`aclose()`), cancelled, or
garbage-collected; `build_response` also closes it as a background task, so a client that
goes away (even before the first byte) releases the file as soon as Litestar notices.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing, asynccontextmanager
from http import HTTPStatus
from typing import Any, BinaryIO

import anyio
from litestar.background_tasks import BackgroundTask
from litestar.response import Response, Stream

from reelvault.delivery.ranges import ByteRange, Plan, http_date

__all__ = (
    "DEFAULT_CHUNK_SIZE",
    "MAX_CHUNK_SIZE",
    "build_response",
    "error_body",
    "iter_file_range",
    "iter_multipart",
    "multipart_length",
    "new_boundary",
    "read_span",
    "response_headers",
)

DEFAULT_CHUNK_SIZE = 256 * 1024
# What one stream may hold at once: the bound on memory per concurrent download.
MAX_CHUNK_SIZE = 1024 * 1024
_CRLF = b"\r\n"
_ERRORS = frozenset({HTTPStatus.PRECONDITION_FAILED, HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE})

StrPath = str | os.PathLike[str]
# A path, or a file open for reading that the body takes over (and closes).
Source = StrPath | BinaryIO


def _is_path(source: Source) -> bool:
    return isinstance(source, str | os.PathLike)


async def _read_span(
    fd: int,
    start: int,
    end: int,
    chunk_size: int,
    max_chunk_size: int | None = None,
) -> AsyncGenerator[bytes, None]:
    """`chunk_size` at a time; with `max_chunk_size`, each read doubles the next up to it: a
    short answer stays small, a long one pays one worker-thread hand-off per MiB, not per
    256 KiB. `pread` keeps no file position, so parts of one file never disturb each other."""
    offset = start
    remaining = end - start + 1
    ceiling = max(chunk_size, max_chunk_size or chunk_size)
    while remaining > 0:
        chunk = await anyio.to_thread.run_sync(os.pread, fd, min(chunk_size, remaining), offset)
        chunk_size = min(chunk_size * 2, ceiling)
        if not chunk:
            # The file shrank under us: failing loudly beats sending less than Content-Length.
            raise EOFError(f"file ended {remaining} bytes short of byte {end}")
        offset += len(chunk)
        remaining -= len(chunk)
        yield chunk


def read_span(source: Source, span: ByteRange) -> bytes:
    """The bytes of `span` in one blocking read, for small answers (run in a worker thread).
    An open file is read, not closed: it stays its owner's."""
    if _is_path(source):
        with open(source, "rb", buffering=0) as handle:  # type: ignore[arg-type]
            return read_span(handle, span)
    data = os.pread(source.fileno(), span.length, span.start)  # type: ignore[union-attr]
    if len(data) != span.length:
        # The file shrank under us: failing loudly beats sending less than Content-Length.
        raise EOFError(f"file ended {span.length - len(data)} bytes short of byte {span.end}")
    return data


@asynccontextmanager
async def _opened(source: Source) -> AsyncIterator[int]:
    """The file's descriptor for the block; the file is closed when it ends, however."""
    if _is_path(source):
        handle: BinaryIO = await anyio.to_thread.run_sync(open, source, "rb", 0)
    else:
        handle = source  # type: ignore[assignment]
    try:
        yield handle.fileno()
    finally:
        # Closing a regular file does not block: done here, it cannot be cancelled away when
        # the client leaves (a close queued in a worker thread could, leaving it to the GC).
        handle.close()


async def iter_file_range(
    source: Source,
    start: int,
    end: int,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    max_chunk_size: int | None = None,
) -> AsyncGenerator[bytes, None]:
    """Yield exactly the bytes `start..end` (inclusive), at most `chunk_size` at a time, or,
    with `max_chunk_size`, in chunks that grow from `chunk_size` to at most that."""
    if not 0 <= start <= end or chunk_size < 1:
        if not _is_path(source):
            source.close()  # type: ignore[union-attr]
        raise ValueError(f"invalid span {start}-{end} or chunk size {chunk_size}")
    async with (
        _opened(source) as fd,
        aclosing(_read_span(fd, start, end, chunk_size, max_chunk_size)) as chunks,
    ):
        async for chunk in chunks:
            yield chunk


def new_boundary() -> str:
    """A random multipart boundary; its length is fixed, so HEAD and GET lengths agree."""
    return secrets.token_hex(16)


def _part_head(byte_range: ByteRange, *, size: int, content_type: str, boundary: str) -> bytes:
    return (
        f"--{boundary}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Range: {byte_range.content_range(size)}\r\n"
        "\r\n"
    ).encode("latin-1")


def _closing_delimiter(boundary: str) -> bytes:
    return f"--{boundary}--\r\n".encode("latin-1")


def multipart_length(
    ranges: Sequence[ByteRange], *, size: int, content_type: str, boundary: str
) -> int:
    """The exact length of the `multipart/byteranges` body that `iter_multipart` yields."""
    parts = sum(
        len(_part_head(byte_range, size=size, content_type=content_type, boundary=boundary))
        + byte_range.length
        + len(_CRLF)
        for byte_range in ranges
    )
    return parts + len(_closing_delimiter(boundary))


async def iter_multipart(
    source: Source,
    ranges: Sequence[ByteRange],
    *,
    size: int,
    content_type: str,
    boundary: str,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> AsyncGenerator[bytes, None]:
    """Yield a `multipart/byteranges` body (RFC 9110 section 14.6), reading one open file."""
    async with _opened(source) as fd:
        for byte_range in ranges:
            yield _part_head(byte_range, size=size, content_type=content_type, boundary=boundary)
            async with aclosing(
                _read_span(fd, byte_range.start, byte_range.end, chunk_size)
            ) as chunks:
                async for chunk in chunks:
                    yield chunk
            yield _CRLF
        yield _closing_delimiter(boundary)


def error_body(status: HTTPStatus) -> bytes:
    """Litestar's error shape, so 412 and 416 read like every other error of the API."""
    return json.dumps(
        {"status_code": int(status), "detail": status.phrase}, separators=(",", ":")
    ).encode()


def response_headers(
    plan: Plan,
    *,
    size: int,
    etag: str,
    last_modified: int,
    content_type: str,
    content_disposition: str | None,
    cache_control: str | None,
    boundary: str | None = None,
) -> dict[str, str]:
    """The headers of each outcome; a HEAD sends exactly these too.

    206 and 304 repeat the 200's validators and Cache-Control (RFC 9110 sections 15.3.7 and
    15.4.5). A multipart 206 needs the `boundary` its body will use.
    """
    validators = {"ETag": etag, "Last-Modified": http_date(last_modified)}
    if cache_control is not None:
        validators["Cache-Control"] = cache_control
    if plan.status == HTTPStatus.NOT_MODIFIED:
        return validators
    if plan.status in _ERRORS:
        headers = {
            "Content-Type": "application/json",
            "Content-Length": str(len(error_body(plan.status))),
            **validators,
        }
        if plan.status == HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE:
            headers["Accept-Ranges"] = "bytes"
            headers["Content-Range"] = f"bytes */{size}"
        return headers

    headers = {"Content-Type": content_type, "Content-Length": str(size)}
    if plan.is_multipart:
        if boundary is None:
            raise ValueError("a multipart plan needs a boundary")
        headers["Content-Type"] = f"multipart/byteranges; boundary={boundary}"
        headers["Content-Length"] = str(
            multipart_length(plan.ranges, size=size, content_type=content_type, boundary=boundary)
        )
    elif plan.ranges:
        (only,) = plan.ranges
        headers["Content-Length"] = str(only.length)
        headers["Content-Range"] = only.content_range(size)
    headers["Accept-Ranges"] = "bytes"
    headers.update(validators)
    if content_disposition is not None:
        headers["Content-Disposition"] = content_disposition
    return headers


def _body(
    plan: Plan,
    source: Source,
    *,
    size: int,
    content_type: str,
    boundary: str | None,
    chunk_size: int,
) -> AsyncGenerator[bytes, None] | None:
    if plan.is_multipart:
        assert boundary is not None
        return iter_multipart(
            source,
            plan.ranges,
            size=size,
            content_type=content_type,
            boundary=boundary,
            chunk_size=chunk_size,
        )
    if plan.ranges:
        (span,) = plan.ranges
    elif size:
        span = ByteRange(0, size - 1)
    else:
        return None  # an empty file: nothing to read
    return iter_file_range(source, span.start, span.end, chunk_size, MAX_CHUNK_SIZE)


async def _close(body: AsyncGenerator[bytes, None], source: Source) -> None:
    # A coroutine function on purpose: Litestar runs any other callable, `body.aclose`
    # included, in a worker thread, where the awaitable it returns is never awaited.
    await body.aclose()
    if not _is_path(source):
        source.close()  # type: ignore[union-attr]  (a body that never started holds it too)


def build_response(
    plan: Plan,
    source: Source,
    *,
    size: int,
    etag: str,
    last_modified: int,
    content_type: str,
    content_disposition: str | None,
    cache_control: str | None,
    is_head: bool,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    body: bytes | None = None,
) -> Response[Any]:
    """A Litestar response for the plan: a Stream with an explicit Content-Length for bodies.
    `source` is the file's path, or the file already open, which the response then owns.

    HEAD gets the GET's headers (Content-Length included) and an empty body. Litestar does not
    mark route-handler responses as HEAD, so the empty body is ours to give; it keeps explicit
    headers, and uvicorn (h11 and httptools alike) forwards a HEAD's Content-Length as is.
    """
    boundary = new_boundary() if plan.is_multipart else None
    headers = response_headers(
        plan,
        size=size,
        etag=etag,
        last_modified=last_modified,
        content_type=content_type,
        content_disposition=content_disposition,
        cache_control=cache_control,
        boundary=boundary,
    )
    status = int(plan.status)
    if is_head or plan.status == HTTPStatus.NOT_MODIFIED:
        return Response(content=b"", status_code=status, headers=headers)
    if plan.status in _ERRORS:
        return Response(content=error_body(plan.status), status_code=status, headers=headers)
    if body is not None:  # already read by the caller: exactly the planned bytes
        return Response(content=body, status_code=status, headers=headers)
    stream = _body(
        plan, source, size=size, content_type=content_type, boundary=boundary, chunk_size=chunk_size
    )
    if stream is None:
        return Response(content=b"", status_code=status, headers=headers)
    return Stream(
        stream,
        status_code=status,
        headers=headers,
        background=BackgroundTask(_close, stream, source),
    )
