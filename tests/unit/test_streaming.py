"""Range bodies read from real files, and `build_response` served over real HTTP."""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import gc
import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import aclosing
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

import anyio
import httpx
import psutil
import pytest
from litestar import Litestar, Request, route
from litestar.response import Response

from reelvault.delivery.ranges import ByteRange, Plan, RequestHeaders, make_etag, plan_response
from reelvault.delivery.streaming import (
    build_response,
    error_body,
    iter_file_range,
    iter_multipart,
    multipart_length,
    new_boundary,
    read_span,
    response_headers,
)
from tests.support.servers import serving

SIZE = 10_007  # prime, so no chunk size divides it
CONTENT_TYPE = "video/mp4"
DISPOSITION = 'attachment; filename="ad_x.mp4"'
ETAG = '"5f1c-2a3b"'
LM = 1_700_000_000


@pytest.fixture
def data() -> bytes:
    return os.urandom(SIZE)


@pytest.fixture
def video(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "video.mp4"
    path.write_bytes(data)
    return path


async def collect(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in chunks])


def is_open(path: Path) -> bool:
    target = os.path.realpath(path)
    return any(os.path.realpath(f.path) == target for f in psutil.Process().open_files())


async def wait_until(condition: Callable[[], bool]) -> bool:
    """Poll for up to five seconds: a file closing has no event to await."""
    for _ in range(500):
        if condition():
            return True
        await asyncio.sleep(0.01)
    return condition()


async def eventually_closed(path: Path) -> bool:
    return await wait_until(lambda: not is_open(path))


# --- iter_file_range ------------------------------------------------------------------------

SPANS = [
    (0, 0),
    (0, SIZE - 1),
    (SIZE - 1, SIZE - 1),
    (1, SIZE - 2),
    (0, 999),
    (0, 1000),
    (999, 1000),
    (1000, 1999),
    (1000, 2000),
    (2999, 3001),
    (4095, 4096),
    (4096, 8191),
    (5, 5),
    (7, 13),
    (9000, SIZE - 1),
]


@pytest.mark.parametrize("chunk_size", [1, 7, 1000, 4096, 256 * 1024])
async def test_iter_file_range_reads_exactly_the_span(
    video: Path, data: bytes, chunk_size: int
) -> None:
    for start, end in SPANS:
        chunks = [chunk async for chunk in iter_file_range(video, start, end, chunk_size)]
        assert b"".join(chunks) == data[start : end + 1], (start, end)
        assert all(0 < len(chunk) <= chunk_size for chunk in chunks)


async def test_iter_file_range_refuses_a_bad_span(video: Path) -> None:
    with pytest.raises(ValueError, match="invalid span"):
        await collect(iter_file_range(video, 5, 4))
    with pytest.raises(ValueError, match="chunk size"):
        await collect(iter_file_range(video, 0, 4, chunk_size=0))


async def test_iter_file_range_fails_loudly_when_the_file_is_short(video: Path) -> None:
    with pytest.raises(EOFError):
        await collect(iter_file_range(video, SIZE - 10, SIZE))
    assert not is_open(video)


def test_read_span_reads_exactly_the_span_or_fails_loudly(video: Path, data: bytes) -> None:
    assert read_span(video, ByteRange(5, 9)) == data[5:10]
    assert read_span(video, ByteRange(0, SIZE - 1)) == data
    with pytest.raises(EOFError):
        read_span(video, ByteRange(SIZE - 10, SIZE))
    assert not is_open(video)


async def test_closing_early_closes_the_file(video: Path) -> None:
    chunks = iter_file_range(video, 0, SIZE - 1, chunk_size=100)
    assert await anext(chunks)
    assert is_open(video)
    await chunks.aclose()
    assert not is_open(video)


async def test_cancelled_consumer_closes_the_file(video: Path) -> None:
    started = asyncio.Event()

    async def consume() -> None:
        async with aclosing(iter_file_range(video, 0, SIZE - 1, chunk_size=100)) as chunks:
            async for _ in chunks:
                started.set()
                await asyncio.sleep(3600)

    task = asyncio.create_task(consume())
    await started.wait()
    assert is_open(video)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not is_open(video)


async def test_abandoned_generator_closes_the_file(video: Path) -> None:
    chunks = iter_file_range(video, 0, SIZE - 1, chunk_size=100)
    assert await anext(chunks)
    del chunks
    gc.collect()
    assert await eventually_closed(video)


# --- multipart/byteranges -------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    headers: dict[str, str]
    body: bytes


def parse_byteranges(body: bytes, boundary: str) -> list[Part]:
    """A strict parser: exact delimiters, CRLF everywhere, nothing before or after."""
    delimiter = f"--{boundary}".encode()
    parts: list[Part] = []
    position = 0
    while body.startswith(delimiter + b"\r\n", position):
        head_end = body.index(b"\r\n\r\n", position)
        lines = body[position + len(delimiter) + 2 : head_end].split(b"\r\n")
        headers = dict(line.decode().split(": ", 1) for line in lines)
        first_last = headers["Content-Range"].removeprefix("bytes ").split("/")[0]
        first, last = (int(number) for number in first_last.split("-"))
        start = head_end + 4
        stop = start + last - first + 1
        parts.append(Part(headers, body[start:stop]))
        assert body[stop : stop + 2] == b"\r\n"
        position = stop + 2
    assert body[position:] == delimiter + b"--\r\n"
    return parts


def assert_parts_match(parts: list[Part], ranges: tuple[ByteRange, ...], data: bytes) -> None:
    assert [part.headers for part in parts] == [
        {"Content-Type": CONTENT_TYPE, "Content-Range": r.content_range(len(data))} for r in ranges
    ]
    assert [part.body for part in parts] == [data[r.start : r.end + 1] for r in ranges]


MULTI = [
    (ByteRange(0, 1), ByteRange(5, 6)),
    (ByteRange(50, 59), ByteRange(0, 9)),
    (ByteRange(0, 0), ByteRange(SIZE - 1, SIZE - 1)),
    (ByteRange(100, 4999), ByteRange(6000, SIZE - 1), ByteRange(10, 20)),
]


@pytest.mark.parametrize("ranges", MULTI)
@pytest.mark.parametrize("chunk_size", [3, 1000, 256 * 1024])
async def test_multipart_body_parses_back_to_the_file(
    video: Path, data: bytes, ranges: tuple[ByteRange, ...], chunk_size: int
) -> None:
    boundary = new_boundary()
    body = await collect(
        iter_multipart(
            video,
            ranges,
            size=SIZE,
            content_type=CONTENT_TYPE,
            boundary=boundary,
            chunk_size=chunk_size,
        )
    )
    length = multipart_length(ranges, size=SIZE, content_type=CONTENT_TYPE, boundary=boundary)
    assert len(body) == length
    assert_parts_match(parse_byteranges(body, boundary), ranges, data)


async def test_multipart_body_reads_with_the_stdlib_email_parser(tmp_path: Path) -> None:
    data = bytes(ord("a") + i % 26 for i in range(1000))  # text, so the parser keeps it as is
    path = tmp_path / "letters.mp4"
    path.write_bytes(data)
    ranges = (ByteRange(900, 999), ByteRange(0, 9))
    boundary = new_boundary()
    body = await collect(
        iter_multipart(path, ranges, size=1000, content_type=CONTENT_TYPE, boundary=boundary)
    )
    head = f"Content-Type: multipart/byteranges; boundary={boundary}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    parts = list(message.iter_parts())
    assert [part["Content-Range"] for part in parts] == ["bytes 900-999/1000", "bytes 0-9/1000"]
    assert [part.get_content() for part in parts] == [data[900:], data[:10]]


async def test_closing_a_multipart_body_early_closes_the_file(video: Path) -> None:
    body = iter_multipart(
        video, MULTI[3], size=SIZE, content_type=CONTENT_TYPE, boundary="b", chunk_size=10
    )
    assert await anext(body)
    assert await anext(body)
    assert is_open(video)
    await body.aclose()
    assert not is_open(video)


# --- response_headers -----------------------------------------------------------------------


def headers_for(plan: Plan, size: int = SIZE, boundary: str | None = None) -> dict[str, str]:
    return response_headers(
        plan,
        size=size,
        etag=ETAG,
        last_modified=LM,
        content_type=CONTENT_TYPE,
        content_disposition=DISPOSITION,
        cache_control="private",
        boundary=boundary,
    )


VALIDATORS = {
    "ETag": ETAG,
    "Last-Modified": "Tue, 14 Nov 2023 22:13:20 GMT",
    "Cache-Control": "private",
}


def test_headers_of_a_full_response() -> None:
    assert headers_for(Plan(HTTPStatus.OK)) == {
        "Content-Type": CONTENT_TYPE,
        "Content-Length": str(SIZE),
        "Accept-Ranges": "bytes",
        **VALIDATORS,
        "Content-Disposition": DISPOSITION,
    }


def test_headers_of_a_single_range() -> None:
    assert headers_for(Plan.partial([ByteRange(10, 19)])) == {
        "Content-Type": CONTENT_TYPE,
        "Content-Length": "10",
        "Content-Range": f"bytes 10-19/{SIZE}",
        "Accept-Ranges": "bytes",
        **VALIDATORS,
        "Content-Disposition": DISPOSITION,
    }


def test_headers_of_multipart_have_no_top_level_content_range() -> None:
    ranges = (ByteRange(0, 1), ByteRange(5, 6))
    length = multipart_length(ranges, size=SIZE, content_type=CONTENT_TYPE, boundary="xyz")
    assert headers_for(Plan.partial(ranges), boundary="xyz") == {
        "Content-Type": "multipart/byteranges; boundary=xyz",
        "Content-Length": str(length),
        "Accept-Ranges": "bytes",
        **VALIDATORS,
        "Content-Disposition": DISPOSITION,
    }
    with pytest.raises(ValueError, match="boundary"):
        headers_for(Plan.partial(ranges))


def test_headers_of_not_modified_are_the_validators_only() -> None:
    assert headers_for(Plan(HTTPStatus.NOT_MODIFIED)) == VALIDATORS


def test_headers_of_unsatisfiable_name_the_size() -> None:
    status = HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE
    assert headers_for(Plan(status)) == {
        "Content-Type": "application/json",
        "Content-Length": str(len(error_body(status))),
        **VALIDATORS,
        "Accept-Ranges": "bytes",
        "Content-Range": f"bytes */{SIZE}",
    }


def test_headers_of_precondition_failed() -> None:
    status = HTTPStatus.PRECONDITION_FAILED
    assert headers_for(Plan(status)) == {
        "Content-Type": "application/json",
        "Content-Length": str(len(error_body(status))),
        **VALIDATORS,
    }
    assert error_body(status) == b'{"status_code":412,"detail":"Precondition Failed"}'


# --- build_response behind a real Litestar app ----------------------------------------------


def make_app(path: Path) -> Litestar:
    @route("/f", http_method=["GET", "HEAD"])
    async def serve_file(request: Request) -> Response:
        stat = await anyio.Path(path).stat()
        etag = make_etag(stat.st_size, stat.st_mtime_ns)
        last_modified = stat.st_mtime_ns // 1_000_000_000
        headers = RequestHeaders.from_mapping(request.headers)
        plan = plan_response(request.method, stat.st_size, etag, last_modified, headers)
        return build_response(
            plan,
            path,
            size=stat.st_size,
            etag=etag,
            last_modified=last_modified,
            content_type=CONTENT_TYPE,
            content_disposition=DISPOSITION,
            cache_control="private",
            is_head=request.method == "HEAD",
            chunk_size=1000,
        )

    return Litestar([serve_file])


@pytest.fixture
async def client(video: Path) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app(video))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def without_boundary(headers: httpx.Headers) -> dict[str, str]:
    """Response headers, the random multipart boundary blanked out."""
    found = dict(headers)
    if found.get("content-type", "").startswith("multipart/byteranges"):
        found["content-type"] = "multipart/byteranges; boundary=*"
    return found


REQUESTS: list[dict[str, str]] = [
    {},
    {"range": "bytes=0-1"},
    {"range": "bytes=-500"},
    {"range": "bytes=0-"},
    {"range": "bytes=0-1,5-6,9000-"},
    {"range": f"bytes={SIZE}-"},
    {"range": "items=0-1"},
    {"if-none-match": "*"},
    {"if-match": '"other"'},
    {"range": "bytes=0-1", "if-range": '"other"'},
]


@pytest.mark.parametrize("headers", REQUESTS)
async def test_get_serves_exactly_the_planned_bytes(
    client: httpx.AsyncClient, data: bytes, headers: dict[str, str]
) -> None:
    response = await client.get("/f", headers=headers)
    assert response.headers.get("content-length", "0") == str(len(response.content))
    match response.status_code:
        case 200:
            assert response.content == data
        case 206 if "content-range" in response.headers:
            first_last = response.headers["content-range"].split()[1].split("/")[0]
            first, last = (int(number) for number in first_last.split("-"))
            assert response.content == data[first : last + 1]
        case 206:
            boundary = response.headers["content-type"].split("boundary=")[1]
            parts = parse_byteranges(response.content, boundary)
            assert b"".join(part.body for part in parts) == data[0:2] + data[5:7] + data[9000:]
        case 304:
            assert response.content == b""
        case 412 | 416:
            assert response.json()["status_code"] == response.status_code


@dataclass(frozen=True)
class Exchange:
    status: int
    headers: dict[str, str]
    body: bytes


async def asgi_exchange(
    app: Litestar, method: str, headers: dict[str, str], *, leave_after_first_chunk: bool = False
) -> Exchange:
    """Drive the ASGI app by hand: httpx's ASGITransport drops a HEAD's body, hiding one.

    With `leave_after_first_chunk`, the client stalls after the first body chunk and then
    disconnects, as a browser does when the user seeks.
    """
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": "/f",
        "raw_path": b"/f",
        "root_path": "",
        "query_string": b"",
        "headers": [(name.encode(), value.encode()) for name, value in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
    }
    sent: list[dict[str, Any]] = []
    finished = asyncio.Event()
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] != "http.response.body":
            return
        if not message.get("more_body", False):
            finished.set()
        elif leave_after_first_chunk:
            finished.set()
            await asyncio.sleep(3600)  # cancelled once Litestar sees the disconnect

    await app(scope, receive, send)  # type: ignore[arg-type]
    start, *bodies = sent
    return Exchange(
        status=start["status"],
        headers={name.decode(): value.decode() for name, value in start["headers"]},
        body=b"".join(message.get("body", b"") for message in bodies),
    )


@pytest.mark.parametrize("headers", REQUESTS)
async def test_head_answers_like_get_without_a_body(video: Path, headers: dict[str, str]) -> None:
    app = make_app(video)
    get = await asgi_exchange(app, "GET", headers)
    head = await asgi_exchange(app, "HEAD", headers)
    assert head.status == get.status
    assert without_boundary(httpx.Headers(head.headers)) == without_boundary(
        httpx.Headers(get.headers)
    )
    assert head.body == b""
    assert get.headers.get("content-length", "0") == str(len(get.body))


async def test_disconnect_mid_stream_closes_the_file_before_the_app_returns(
    video: Path,
) -> None:
    for headers in ({}, {"range": "bytes=0-"}, {"range": "bytes=0-1,100-"}):
        exchange = await asgi_exchange(
            make_app(video), "GET", headers, leave_after_first_chunk=True
        )
        assert 0 < len(exchange.body) < SIZE
        assert not is_open(video), headers


async def test_range_responses_carry_the_full_responses_validators(
    client: httpx.AsyncClient,
) -> None:
    full = await client.get("/f")
    for headers in ({"range": "bytes=0-1"}, {"range": "bytes=0-1,4-5"}, {"if-none-match": "*"}):
        response = await client.get("/f", headers=headers)
        for name in ("etag", "last-modified", "cache-control"):
            assert response.headers[name] == full.headers[name], (headers, name)


async def test_validators_from_a_200_make_the_next_request_conditional(
    client: httpx.AsyncClient, data: bytes
) -> None:
    full = await client.get("/f")
    etag, last_modified = full.headers["etag"], full.headers["last-modified"]
    assert (await client.get("/f", headers={"if-none-match": etag})).status_code == 304
    assert (await client.get("/f", headers={"if-modified-since": last_modified})).status_code == 304
    for validator in (etag, last_modified):
        resumed = await client.get("/f", headers={"range": "bytes=100-", "if-range": validator})
        assert resumed.status_code == 206
        assert resumed.content == data[100:]


async def test_empty_file_answers_range_with_an_empty_200(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    transport = httpx.ASGITransport(app=make_app(path))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for method in ("GET", "HEAD"):
            response = await client.request(method, "/f", headers={"range": "bytes=0-"})
            assert response.status_code == 200
            assert response.headers["content-length"] == "0"
            assert response.content == b""


# --- the same app behind uvicorn, over TCP ---------------------------------------------------


@dataclass(frozen=True)
class Served:
    host: str
    port: int
    path: Path

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/f"


@pytest.fixture(params=["h11", "httptools"])
def served(request: pytest.FixtureRequest, video: Path) -> Iterator[Served]:
    with serving(make_app(video), http=request.param, lifespan="off") as server:
        yield Served("127.0.0.1", server.port, video)


async def raw_exchange(served: Served, request: str) -> tuple[bytes, bytes]:
    """Send one request on a fresh connection; the head and whatever followed it."""
    reader, writer = await asyncio.open_connection(served.host, served.port)
    writer.write(request.encode())
    await writer.drain()
    received = await reader.read()  # `Connection: close`: read to EOF
    writer.close()
    await writer.wait_closed()
    head, _, rest = received.partition(b"\r\n\r\n")
    return head, rest


@pytest.mark.parametrize(
    ("range_header", "status", "length"),
    [
        (None, 200, SIZE),
        ("bytes=0-1", 206, 2),
        (f"bytes={SIZE}-", 416, len(error_body(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE))),
    ],
)
async def test_head_over_tcp_has_the_gets_content_length_and_no_body(
    served: Served, range_header: str | None, status: int, length: int
) -> None:
    extra = f"Range: {range_header}\r\n" if range_header else ""
    request = f"HEAD /f HTTP/1.1\r\nHost: test\r\n{extra}Connection: close\r\n\r\n"
    head, rest = await raw_exchange(served, request)
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith(f"HTTP/1.1 {status} ")
    fields = dict(line.lower().split(": ", 1) for line in lines[1:])
    assert fields["content-length"] == str(length)
    assert "transfer-encoding" not in fields
    assert rest == b""


async def test_keep_alive_survives_head_then_ranges_over_tcp(served: Served, data: bytes) -> None:
    limits = httpx.Limits(max_connections=1)
    async with httpx.AsyncClient(limits=limits, trust_env=False) as client:
        head = await client.head(served.url)
        assert head.headers["content-length"] == str(SIZE)
        single = await client.get(served.url, headers={"range": "bytes=-5000"})
        assert single.status_code == 206
        assert single.content == data[-5000:]
        multi = await client.get(served.url, headers={"range": "bytes=0-999,5000-5999,10000-"})
        assert multi.headers["content-length"] == str(len(multi.content))
        boundary = multi.headers["content-type"].split("boundary=")[1]
        parts = parse_byteranges(multi.content, boundary)
        assert [part.body for part in parts] == [data[:1000], data[5000:6000], data[10000:]]
        full = await client.get(served.url)
        assert full.content == data


async def test_client_going_away_mid_stream_closes_the_file(served: Served) -> None:
    # 64 MiB cannot fit in the socket buffers, so the server is mid-stream when we leave.
    with served.path.open("wb") as handle:
        handle.truncate(64 * 1024 * 1024)
    async with (
        httpx.AsyncClient(trust_env=False) as client,
        client.stream("GET", served.url) as response,
    ):
        assert response.status_code == 200
        async for _ in response.aiter_raw():
            break
        assert is_open(served.path)
    assert await eventually_closed(served.path)


async def test_long_spans_read_in_chunks_that_grow_to_the_ceiling(video: Path, data: bytes) -> None:
    chunks = [c async for c in iter_file_range(video, 0, SIZE - 1, 100, max_chunk_size=1000)]
    assert b"".join(chunks) == data
    sizes = [len(c) for c in chunks]
    assert sizes[:4] == [100, 200, 400, 800]
    assert max(sizes) == 1000
    assert all(size == 1000 for size in sizes[4:-1])
