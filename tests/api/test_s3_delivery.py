"""Media delivery with the media in an object store (a real S3-protocol server), over real
HTTP, on SQLite and PostgreSQL, in apps of their own: `direct` (the app streams ranged GETs of
the store) and `redirect` (a 302 to a presigned GET, where the store answers as planned).

Every body is compared byte for byte with the object in the bucket; requests go out on a raw
socket, so a reply is checked for exactly its Content-Length. The faults (the store down before
the status line, and during a body) run against a store of their own."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from reelvault.generations.models import GenerationStatus
from reelvault.settings import Settings
from tests.conftest import database_url
from tests.support.factories import (
    Account,
    generation_row,
    insert_generations,
    register_and_login,
)
from tests.support.media import clip
from tests.support.s3 import S3Server, s3_server, s3_settings
from tests.support.servers import LiveServer, live_app
from tests.support.video_http import (
    Reply,
    exchange,
    import_video,
    multipart_boundary,
    parse_byteranges,
)

PREFIX = "library/"
# Larger than any buffer on the way, so a stream that held the object would show.
BIG_BYTES = 32 * 1024 * 1024


@dataclass
class S3App:
    settings: Settings
    server: LiveServer
    s3: S3Server

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def mode(self) -> str:
        return self.settings.media_delivery

    def client(self):
        return self.s3.client()

    def object_bytes(self, relpath: str) -> bytes:
        answer = self.client().get_object(Bucket=self.settings.s3_bucket, Key=PREFIX + relpath)
        return answer["Body"].read()

    def put(self, relpath: str, data: bytes) -> None:
        self.client().put_object(Bucket=self.settings.s3_bucket, Key=PREFIX + relpath, Body=data)

    def remove(self, relpath: str) -> None:
        self.client().delete_object(Bucket=self.settings.s3_bucket, Key=PREFIX + relpath)

    def etag(self, relpath: str) -> str:
        answer = self.client().head_object(Bucket=self.settings.s3_bucket, Key=PREFIX + relpath)
        return answer["ETag"]

    def key_of(self, generation_id: str, kind: str = "videos") -> str:
        keys = self.s3.keys(self.settings.s3_bucket, f"{PREFIX}{kind}/{generation_id}")
        assert len(keys) == 1, keys
        return keys[0][len(PREFIX) :]


@contextlib.contextmanager
def s3_app(backend: str, mode: str, s3: S3Server, workdir: Path) -> Iterator[S3App]:
    with database_url(backend, workdir) as url:
        settings = Settings(data_dir=workdir, database_url=url, media_delivery=mode)
        settings = s3_settings(settings, s3, s3.new_bucket(), s3_prefix=PREFIX)
        with live_app(settings, migrate=True) as served:
            yield S3App(settings, served, s3)


async def stored_row(app: S3App, owner: Account, relpath: str, size: int) -> str:
    """A completed generation whose video is `relpath` in the bucket (put there directly)."""
    engine = create_async_engine(app.settings.database_url)
    try:
        row = generation_row(
            owner.id,
            status=GenerationStatus.COMPLETED.value,
            progress=100,
            video_path=relpath,
            file_size=size,
            completed_at=datetime.now(UTC),
        )
        await insert_generations(engine, [row])
    finally:
        await engine.dispose()
    return str(row["id"])


@dataclass
class Library:
    app: S3App
    owner: Account
    id: str
    relpath: str
    data: bytes

    async def get(self, method: str = "GET", **headers: str) -> Reply:
        return await self.request(method, f"/api/video/{self.id}", **headers)

    async def request(self, method: str, target: str, **headers: str) -> Reply:
        wire = {"Authorization": f"Bearer {self.owner.token}", **headers}
        return await exchange(self.app.base_url, method, target, wire)


CASES = [("sqlite", "direct"), ("postgresql", "direct"), ("sqlite", "redirect")]
CASES += [("postgresql", "redirect")]


@pytest.fixture(scope="module", params=CASES, ids=[f"{db}-{mode}" for db, mode in CASES])
async def library(
    request: pytest.FixtureRequest, s3: S3Server, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Library]:
    backend, mode = request.param
    with s3_app(backend, mode, s3, tmp_path_factory.mktemp(f"s3-{backend}-{mode}")) as app:
        owner = await register_and_login(app.base_url)
        item = await import_video(owner, clip(640, 360, 3.0), "Kept in a bucket")
        relpath = app.key_of(item["id"])
        data = app.object_bytes(relpath)
        assert len(data) > 20_000
        yield Library(app, owner, item["id"], relpath, data)
        await owner.client.aclose()


def only_direct(library: Library) -> None:
    if library.app.mode != "direct":
        pytest.skip("the app streams in direct mode only")


def only_redirect(library: Library) -> None:
    if library.app.mode != "redirect":
        pytest.skip("redirect mode only")


def follow(reply: Reply, **headers: str) -> httpx.Response:
    """The browser's next step: the presigned URL, with its own Range and nothing else."""
    assert reply.status == 302, (reply.status, reply.body[:200])
    return httpx.get(reply.headers["location"], headers=headers, timeout=30)


# --- what every mode answers ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "first", "last"),
    [
        (None, 0, -1),
        ("bytes=0-0", 0, 0),
        ("bytes=100-1099", 100, 1099),
        ("bytes=1000-", 1000, -1),
        ("bytes=-500", -500, -1),
    ],
)
async def test_the_stored_bytes_are_served(
    library: Library, value: str | None, first: int, last: int
) -> None:
    headers = {"Range": value} if value else {}
    reply = await library.get(**headers)
    size = len(library.data)
    first = size + first if first < 0 else first
    last = size - 1 if last < 0 else last
    if library.app.mode == "redirect":
        assert reply.headers["cache-control"] == "private, no-store"
        assert reply.body == b""
        answer = follow(reply, **headers)
        status, body, got = answer.status_code, answer.content, answer.headers
    else:
        status, body, got = reply.status, reply.body, reply.headers
        assert got["accept-ranges"] == "bytes"
        assert got["cache-control"] == "private"
        assert got["etag"] == library.app.etag(library.relpath)
    assert status == (206 if value else 200)
    assert body == library.data[first : last + 1]
    assert got["content-length"] == str(last - first + 1)
    if value:
        assert got["content-range"] == f"bytes {first}-{last}/{size}"
    assert got["content-type"] == "video/mp4"
    assert got["content-disposition"] == f'attachment; filename="ad_{library.id}.mp4"'


async def test_several_ranges_are_multipart_byteranges_from_the_app(library: Library) -> None:
    size = len(library.data)
    reply = await library.get(Range="bytes=0-99,5000-5099,-100")
    assert reply.status == 206  # in redirect mode too: the store answers one range per GET
    parts = parse_byteranges(reply.body, multipart_boundary(reply.headers["content-type"]))
    assert [(p.first, p.last, p.size, p.body) for p in parts] == [
        (0, 99, size, library.data[:100]),
        (5000, 5099, size, library.data[5000:5100]),
        (size - 100, size - 1, size, library.data[-100:]),
    ]
    assert int(reply.headers["content-length"]) == len(reply.body)


async def test_a_large_range_streams_exactly_its_bytes(library: Library) -> None:
    """Past one read: the answer streams from a ranged GET (direct) or from the store."""
    size = len(library.data)
    reply = await library.get(Range="bytes=1-")
    if library.app.mode == "redirect":
        answer = follow(reply, Range="bytes=1-")
        assert answer.status_code == 206 and answer.content == library.data[1:]
        return
    assert reply.status == 206
    assert reply.headers["content-range"] == f"bytes 1-{size - 1}/{size}"
    assert reply.body == library.data[1:]


async def test_a_matching_if_none_match_is_304_in_every_mode(library: Library) -> None:
    etag = library.app.etag(library.relpath)
    reply = await library.get(**{"If-None-Match": etag})
    assert reply.status == 304
    assert reply.body == b""
    assert reply.headers["etag"] == etag
    assert "location" not in reply.headers


async def test_a_stale_if_range_gets_the_whole_video_from_the_app(library: Library) -> None:
    # The store has no If-Range: a redirect would hand back the range of other bytes.
    reply = await library.get(Range="bytes=0-9", **{"If-Range": '"stale"'})
    assert reply.status == 200
    assert reply.body == library.data
    # One that holds is the range, from the app too (only a store without If-Range answers it).
    reply = await library.get(Range="bytes=0-9", **{"If-Range": library.app.etag(library.relpath)})
    assert reply.status == 206 and reply.body == library.data[:10]


async def test_a_range_the_app_ignores_is_the_whole_video_from_the_app(library: Library) -> None:
    reply = await library.get(Range="bytes=0-,0-,0-")  # more than the file: ignored
    assert reply.status == 200
    assert reply.body == library.data


@pytest.mark.parametrize("value", [None, "bytes=10-19", "bytes=0-9,20-29", "bytes=99999999-"])
async def test_head_is_answered_by_the_app_without_reading_a_body(
    library: Library, value: str | None
) -> None:
    headers = {"Range": value} if value else {}
    head = await library.get("HEAD", **headers)
    assert head.body == b""
    assert "location" not in head.headers
    expected = {None: 200, "bytes=10-19": 206, "bytes=0-9,20-29": 206, "bytes=99999999-": 416}
    assert head.status == expected[value]
    assert head.headers["etag"] == library.app.etag(library.relpath)
    if value == "bytes=10-19":
        assert head.headers["content-length"] == "10"
        assert head.headers["content-range"] == f"bytes 10-19/{len(library.data)}"
    if value is None:
        assert head.headers["content-length"] == str(len(library.data))


async def test_an_unsatisfiable_range_is_416(library: Library) -> None:
    reply = await library.get(Range="bytes=99999999-")
    assert reply.status == 416
    assert reply.headers["content-range"] == f"bytes */{len(library.data)}"
    assert reply.body == b'{"status_code":416,"detail":"Requested Range Not Satisfiable"}'


async def test_the_thumbnail_comes_from_the_store(library: Library) -> None:
    reply = await library.request("GET", f"/api/thumbnail/{library.id}")
    stored = library.app.object_bytes(library.app.key_of(library.id, "thumbnails"))
    if library.app.mode == "redirect":
        answer = follow(reply)
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "image/jpeg"
        assert answer.content == stored
        return
    assert reply.status == 200
    assert reply.headers["content-type"] == "image/jpeg"
    assert reply.body == stored
    etag = reply.headers["etag"]
    again = await library.request("GET", f"/api/thumbnail/{library.id}", **{"If-None-Match": etag})
    assert again.status == 304 and again.body == b""


async def test_a_strangers_request_is_404_and_never_a_presigned_url(library: Library) -> None:
    stranger = await register_and_login(library.app.base_url)
    try:
        wire = {"Authorization": f"Bearer {stranger.token}"}
        for path in (f"/api/video/{library.id}", f"/api/thumbnail/{library.id}"):
            reply = await exchange(library.app.base_url, "GET", path, wire)
            assert reply.status == 404
            assert "location" not in reply.headers
            assert b"X-Amz-Signature" not in reply.body
    finally:
        await stranger.client.aclose()


async def test_a_missing_object_is_a_logged_404(
    library: Library, caplog: pytest.LogCaptureFixture
) -> None:
    relpath = f"videos/{uuid.uuid4()}-gone.mp4"
    library.app.put(relpath, b"soon gone")
    generation_id = await stored_row(library.app, library.owner, relpath, 9)
    library.app.remove(relpath)
    with caplog.at_level(logging.ERROR, logger="reelvault.media"):
        answers = [
            await library.request("GET", f"/api/video/{generation_id}"),
            await library.request("HEAD", f"/api/video/{generation_id}"),
            await library.request("GET", f"/api/video/{generation_id}", Range="bytes=0-1"),
        ]
    assert [answer.status for answer in answers] == [404, 404, 404]
    assert answers[0].body == b'{"status_code":404,"detail":"Video not found"}'
    assert all("location" not in answer.headers for answer in answers)
    assert f"object missing in the store: {PREFIX}{relpath}" in caplog.text


# --- redirect mode --------------------------------------------------------------------------


async def test_the_redirect_is_a_short_signed_url_with_the_response_headers(
    library: Library,
) -> None:
    only_redirect(library)
    reply = await library.get()
    assert reply.status == 302
    location = urlsplit(reply.headers["location"])
    store = urlsplit(library.app.settings.s3_endpoint_url or "")
    assert location.netloc == store.netloc
    assert location.path == f"/{library.app.settings.s3_bucket}/{PREFIX}{library.relpath}"
    query = parse_qs(location.query)
    assert query["response-content-disposition"] == [f'attachment; filename="ad_{library.id}.mp4"']
    assert query["response-content-type"] == ["video/mp4"]
    assert query["X-Amz-Expires"] == [str(library.app.settings.s3_presign_seconds)]
    # SigV4 signs the whole query string, the response-* overrides with it.
    assert "X-Amz-Signature" in query
    assert reply.headers["cache-control"] == "private, no-store"


# --- direct mode: memory, and a store that fails -------------------------------------------


async def test_a_big_object_streams_in_bounded_memory(library: Library) -> None:
    only_direct(library)
    relpath = f"videos/{uuid.uuid4()}-big.mp4"
    data = os.urandom(BIG_BYTES)
    library.app.put(relpath, data)
    generation_id = await stored_row(library.app, library.owner, relpath, len(data))
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        received, status = await _read_discarding(library, f"/api/video/{generation_id}")
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    assert status == 200
    assert received == len(data)
    # The object is 32 MiB; the app holds a few chunks of 256 KiB at a time.
    assert peak < 8 * 1024 * 1024, peak


async def _read_discarding(library: Library, target: str) -> tuple[int, int]:
    """GET `target` and count the body's bytes without keeping them: (bytes, status)."""
    address = urlsplit(library.app.base_url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    try:
        writer.write(
            (
                f"GET {target} HTTP/1.1\r\nHost: {address.netloc}\r\n"
                f"Authorization: Bearer {library.owner.token}\r\nConnection: close\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        received = 0
        while chunk := await asyncio.wait_for(reader.read(64 * 1024), timeout=30):
            received += len(chunk)
        return received, status
    finally:
        writer.close()


@dataclass
class Fragile:
    """An app on a store of its own, which the tests stop (and start again, empty)."""

    app: S3App
    owner: Account
    store: S3Server

    async def big_video(self) -> Library:
        if self.store.process is None:  # stopped by an earlier test: back, with the bucket
            self.store.start()
            self.store.client().create_bucket(Bucket=self.app.settings.s3_bucket)
        relpath = f"videos/{uuid.uuid4()}-big.mp4"
        data = os.urandom(BIG_BYTES)
        self.app.put(relpath, data)
        generation_id = await stored_row(self.app, self.owner, relpath, len(data))
        return Library(self.app, self.owner, generation_id, relpath, data)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def fragile(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Fragile]:
    workdir = tmp_path_factory.mktemp(f"s3-fragile-{request.param}")
    with s3_server() as store, s3_app(request.param, "direct", store, workdir) as app:
        owner = await register_and_login(app.base_url)
        yield Fragile(app, owner, store)
        await owner.client.aclose()


async def test_a_store_down_before_the_answer_is_a_503(fragile: Fragile) -> None:
    library = await fragile.big_video()
    fragile.store.stop()
    for method, headers in (("GET", {}), ("HEAD", {}), ("GET", {"Range": "bytes=0-9"})):
        reply = await library.get(method, **headers)
        assert reply.status == 503, (method, reply.status, reply.body[:200])
        if method == "GET":
            assert reply.headers["content-type"] == "application/json"
            assert b'"status_code":503' in reply.body


async def test_a_store_lost_during_the_body_cuts_it_short_and_says_so(
    fragile: Fragile, caplog: pytest.LogCaptureFixture
) -> None:
    library = await fragile.big_video()
    address = urlsplit(library.app.base_url)
    with caplog.at_level(logging.ERROR, logger="reelvault.media"):
        reader, writer = await asyncio.open_connection(address.hostname, address.port)
        try:
            writer.write(
                (
                    f"GET /api/video/{library.id} HTTP/1.1\r\nHost: {address.netloc}\r\n"
                    f"Authorization: Bearer {library.owner.token}\r\nConnection: close\r\n\r\n"
                ).encode()
            )
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 ")
            assert f"content-length: {BIG_BYTES}".encode() in head.lower()
            received = len(await reader.readexactly(64 * 1024))
            fragile.store.stop()
            while chunk := await asyncio.wait_for(reader.read(1024 * 1024), timeout=60):
                received += len(chunk)
        finally:
            writer.close()
        # The connection ended short of its Content-Length: no client takes it as whole.
        assert 64 * 1024 <= received < BIG_BYTES
        for _ in range(100):
            if "body cut after" in caplog.text:
                break
            await asyncio.sleep(0.05)
    assert f"of {BIG_BYTES} bytes: the store failed" in caplog.text
