"""HTTP on the wire for the media tests: one request per connection, read to the end, so a
response can be checked for exactly its Content-Length and nothing after it (httpx would hide
stray bytes after a HEAD or a 304), plus a strict `multipart/byteranges` reader."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.factories import Account

_BOUNDARY_RE = re.compile(r"multipart/byteranges; boundary=([0-9A-Za-z'()+_,./:=?-]{1,70})")
_CONTENT_RANGE_RE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


@dataclass(frozen=True)
class Reply:
    status: int
    fields: tuple[tuple[str, str], ...]  # as received, names lower-cased
    body: bytes  # everything the server sent after the head, up to the closed connection

    @property
    def headers(self) -> dict[str, str]:
        names = [name for name, _ in self.fields]
        repeated = {name for name in names if names.count(name) > 1 and name != "set-cookie"}
        assert not repeated, f"repeated header fields: {repeated}"
        return dict(self.fields)


async def exchange(
    base_url: str,
    method: str,
    target: str,
    headers: Mapping[str, str] | None = None,
) -> Reply:
    """Send one HTTP/1.1 request with `Connection: close` and read the reply to EOF."""
    address = urlsplit(base_url)
    assert address.hostname is not None and address.port is not None
    lines = [f"{method} {target} HTTP/1.1", f"Host: {address.netloc}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    lines += ["Connection: close", "", ""]
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    try:
        writer.write("\r\n".join(lines).encode("latin-1"))
        await writer.drain()
        received = await asyncio.wait_for(reader.read(), timeout=30)
    finally:
        writer.close()
        await writer.wait_closed()
    head, separator, body = received.partition(b"\r\n\r\n")
    assert separator, f"no complete head in {received[:200]!r}"
    status_line, *field_lines = head.decode("latin-1").split("\r\n")
    version, status, _ = status_line.split(" ", 2)
    assert version == "HTTP/1.1", status_line
    fields = []
    for line in field_lines:
        name, value = line.split(":", 1)
        fields.append((name.lower(), value.strip(" \t")))
    return Reply(int(status), tuple(fields), body)


@dataclass(frozen=True)
class Part:
    content_type: str
    first: int
    last: int
    size: int
    body: bytes


def multipart_boundary(content_type: str) -> str:
    match = _BOUNDARY_RE.fullmatch(content_type)
    assert match, f"not a multipart/byteranges type with a boundary: {content_type!r}"
    return match.group(1)


def parse_byteranges(body: bytes, boundary: str) -> list[Part]:
    """The parts of a `multipart/byteranges` body (RFC 9110 section 14.6, RFC 2046 5.1.1),
    read strictly: CRLF line ends, no preamble or epilogue, each part's length taken from its
    own Content-Range and followed by exactly CRLF and the next delimiter."""
    delimiter = b"--" + boundary.encode("latin-1")
    parts: list[Part] = []
    position = 0
    while body.startswith(delimiter + b"\r\n", position):
        head_start = position + len(delimiter) + 2
        head_end = body.index(b"\r\n\r\n", head_start)
        fields: dict[str, str] = {}
        for line in body[head_start:head_end].decode("latin-1").split("\r\n"):
            name, separator, value = line.partition(": ")
            assert separator and "\n" not in line and "\r" not in line, line
            assert name.lower() not in fields, f"repeated part field {name}"
            fields[name.lower()] = value
        assert set(fields) == {"content-type", "content-range"}, fields
        content_range = _CONTENT_RANGE_RE.fullmatch(fields["content-range"])
        assert content_range, fields["content-range"]
        first, last, size = (int(number) for number in content_range.groups())
        start = head_end + 4
        stop = start + last - first + 1
        assert stop + 2 <= len(body), "part shorter than its Content-Range"
        parts.append(Part(fields["content-type"], first, last, size, body[start:stop]))
        assert body[stop : stop + 2] == b"\r\n", "part body not followed by CRLF"
        position = stop + 2
    assert parts, "no part found"
    assert body[position:] == delimiter + b"--\r\n", "bad closing delimiter or epilogue"
    return parts


async def import_video(account: Account, source: Path, prompt: str = "Range test clip") -> dict:
    """Import a real clip through `POST /api/generations`, streaming it from disk."""
    with source.open("rb") as handle:
        response = await account.client.post(
            "/api/generations",
            data={"prompt": prompt},
            files={"file": (source.name, handle, "video/mp4")},
            timeout=120,
        )
    assert response.status_code == 201, response.text
    return response.json()


def stored_video(media_root: Path, generation_id: str) -> Path:
    return media_root / "videos" / f"{generation_id}.mp4"
