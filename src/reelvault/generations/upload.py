"""Receive a `multipart/form-data` upload as it streams in: the file part goes straight to disk
in bounded chunks and the size limit is enforced while it arrives, never after."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiofiles
import anyio
from litestar.exceptions import InternalServerException
from multipart import MultipartSegment, ParserError, ParserLimitReached, PushMultipartParser

from reelvault.errors import BadRequest, PayloadTooLarge, RequestTimeout

MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 8


class UploadRejected(BadRequest):
    """The body is not the form we asked for (400), as opposed to a bad value in it (422)."""


@dataclass
class ReceivedUpload:
    fields: dict[str, str]
    file_path: Path | None = None
    file_size: int = 0


def multipart_boundary(content_type: str | None) -> bytes:
    if not content_type:
        raise UploadRejected("Send the video as multipart/form-data")
    media_type, _, params = content_type.partition(";")
    if media_type.strip().lower() != "multipart/form-data":
        raise UploadRejected("Send the video as multipart/form-data")
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary" and value:
            return value.strip('"').encode("latin-1")
    raise UploadRejected("The multipart/form-data body has no boundary")


async def receive_upload(
    stream: AsyncIterator[bytes],
    boundary: bytes,
    destination: Path,
    *,
    file_field: str,
    max_file_bytes: int,
    too_large: str = PayloadTooLarge.detail,
) -> ReceivedUpload:
    """Stream the body: `file_field` to `destination`, other fields into memory (bounded).
    A file past `max_file_bytes` is refused with the 413 sentence `too_large`."""
    received = ReceivedUpload(fields={})
    segment: MultipartSegment | None = None
    text = bytearray()
    sink = None
    try:
        with PushMultipartParser(
            boundary, max_segment_count=MAX_PARTS, max_header_size=8192
        ) as parser:
            async for chunk in _with_end(stream):
                for event in parser.parse(chunk):
                    if isinstance(event, MultipartSegment):
                        segment, text = event, bytearray()
                        if segment.name == file_field and segment.filename is not None:
                            if received.file_path is not None:
                                raise UploadRejected("Send exactly one file")
                            sink = await aiofiles.open(destination, "wb")
                            received.file_path = destination
                    elif event is None:  # end of a part
                        if segment is None:
                            raise UploadRejected("The multipart/form-data body is malformed")
                        if sink is not None:
                            await sink.close()
                            sink = None
                        else:
                            received.fields[segment.name] = _decoded(text, segment)
                        segment = None
                    else:
                        if sink is not None:
                            received.file_size += len(event)
                            if received.file_size > max_file_bytes:
                                raise PayloadTooLarge(too_large)
                            await sink.write(event)
                        else:
                            text.extend(event)
                            if len(text) > MAX_FIELD_BYTES:
                                raise PayloadTooLarge("A form field is too large")
                if parser.closed:
                    break
            if not parser.closed:
                raise UploadRejected("The upload ended before it was complete")
    except ParserLimitReached:
        raise UploadRejected("The form has too many parts or too long headers") from None
    except ParserError:
        raise UploadRejected("The multipart/form-data body is malformed") from None
    finally:
        if sink is not None:
            await sink.close()
    return received


def _decoded(text: bytearray, segment: MultipartSegment) -> str:
    """The field's text in the charset its part names (UTF-8 by default)."""
    charset = segment.charset or "utf-8"
    try:
        return text.decode(charset, errors="replace")
    # No such codec, one that is not text (base64, zlib), or one that cannot decode leniently
    # (idna, punycode): whatever the client named, it is its mistake.
    except (LookupError, ValueError):
        raise UploadRejected(
            "A form field names a charset that cannot be read; send text fields as UTF-8"
        ) from None


async def idle_cut(stream: AsyncIterator[bytes], idle_seconds: float) -> AsyncIterator[bytes]:
    """The body's chunks, cut off with a 408 once none has arrived for `idle_seconds`: a
    client that stops sending must not keep its upload (and its slot) forever. A client that
    goes away mid-body is a body cut short (400), not a failure of ours."""
    iterator = aiter(stream)
    while True:
        try:
            with anyio.fail_after(idle_seconds):
                chunk = await anext(iterator)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise RequestTimeout(
                f"The upload sent nothing for {idle_seconds:g} seconds and was cut off"
            ) from None
        except InternalServerException:  # Litestar's "client disconnected prematurely"
            raise UploadRejected("The upload ended before it was complete") from None
        yield chunk


async def _with_end(stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    async for chunk in stream:
        if chunk:
            yield chunk
    yield b""  # tells the parser the body is over
