"""The direct-mode streamer under load, on a real ~50 MB video imported over HTTP (SQLite
deployment only: the database plays no part in how bytes are streamed).

- 50 concurrent readers fetch random ranges (1 byte to 8 MiB, open-ended and suffix forms) and
  ten of them the whole file; every byte is compared with the stored file, and the resident
  memory of the process that runs the server stays within `RSS_BOUND` of where it started.
- Clients that leave mid-stream leave no open file and no running task behind.

The readers run in a child process: their buffers are not counted in the server's RSS, and
they do not compete with the server for its GIL.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import math
import multiprocessing
import os
import random
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import av
import httpx
import psutil
import pytest

from reelvault.settings import Settings
from tests.support.factories import Account, register_and_login
from tests.support.servers import LiveServer, live_app
from tests.support.video_http import import_video, stored_video

MiB = 1024 * 1024
READERS = 50
WHOLE_FILE_READERS = 10  # every fifth reader starts with the whole file
CHUNK = 1024 * 1024  # reelvault.delivery.streaming.MAX_CHUNK_SIZE (chunks grow to it)
# What 50 streams may cost the server at most: each holds about three chunk buffers at a time
# (the one being read in the worker thread, the one handed to uvicorn, and what sits in the
# transport's write buffer before back-pressure stops it). Chunks start at 256 KiB and grow
# to 1 MiB only on long spans, and the write buffer's high-water mark stops a stream long
# before three full chunks wait there, so 50 streams stay near 50 x 1 MiB, plus
# per-connection objects, the worker threads' malloc arenas and allocator slack: 150 MiB
# (measured: about 70). Reading ranges into memory instead would cost up to 50 x 8 MiB plus
# 10 x 50 MB here.
RSS_BOUND = 150 * MiB


# --- a real 50 MB video --------------------------------------------------------------------


def render_noise_clip(path: Path, *, frames: int, seed: int) -> None:
    """An H.264 MP4 of seeded random noise at a near-lossless quantiser: incompressible, so
    each 640x360 frame costs about 575 KB and 88 frames come to about 50 MB."""
    rng = random.Random(seed)
    with av.open(str(path), "w", format="mp4", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.options = {"preset": "ultrafast", "qp": "2"}
        for index in range(frames):
            frame = av.VideoFrame(640, 360, "yuv420p")
            for plane in frame.planes:
                plane.update(rng.randbytes(plane.buffer_size))
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("load")
    settings = Settings(data_dir=workdir, max_upload_bytes=64 * MiB).resolved()
    with live_app(settings, migrate=True) as live:
        yield live


@dataclass(frozen=True)
class BigVideo:
    server: LiveServer
    account: Account
    id: str
    path: Path
    size: int

    @property
    def url(self) -> str:
        return f"/api/video/{self.id}"


@pytest.fixture(scope="module")
async def big_video(
    server: LiveServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[BigVideo]:
    source = tmp_path_factory.mktemp("noise") / "noise.mp4"
    render_noise_clip(source, frames=88, seed=2026)
    account = await register_and_login(server.base_url)
    item = await import_video(account, source, "Static noise, fifty megabytes of it")
    path = stored_video(server.settings.media_root, item["id"])
    size = path.stat().st_size
    assert 45_000_000 <= size <= 55_000_000, size
    assert item["file_size"] == size
    yield BigVideo(server, account, item["id"], path, size)
    await account.client.aclose()


# --- the readers (run in a child process) --------------------------------------------------


@dataclass(frozen=True)
class Fetch:
    range: str | None  # the Range header, None for the whole file
    first: int
    last: int


def reading_plan(size: int, seed: int) -> list[list[Fetch]]:
    """What each reader asks for, in order; the same seed gives the same plan."""
    rng = random.Random(seed)

    def log_uniform(low: int, high: int) -> int:
        return int(math.exp(rng.uniform(math.log(low), math.log(high))))

    def span(length: int) -> Fetch:
        first = rng.randrange(0, size - length + 1)
        return Fetch(f"bytes={first}-{first + length - 1}", first, first + length - 1)

    plans = []
    for reader in range(READERS):
        suffix = log_uniform(1, MiB)
        tail_start = size - log_uniform(1, 2 * MiB)
        # Ends past the file are clamped: ask for up to 1 MiB more than there is.
        clamped_start = size - log_uniform(1, MiB)
        fetches = [
            span(1),
            span(log_uniform(1, 4 * MiB)),
            span(log_uniform(1, 4 * MiB)),
            span(log_uniform(1, 4 * MiB)),
            span(rng.randrange(2 * MiB, 8 * MiB)),
            Fetch(f"bytes=-{suffix}", size - suffix, size - 1),
            Fetch(f"bytes={tail_start}-", tail_start, size - 1),
            Fetch(f"bytes={clamped_start}-{size + MiB}", clamped_start, size - 1),
        ]
        rng.shuffle(fetches)
        if reader % (READERS // WHOLE_FILE_READERS) == 0:
            fetches.insert(0, Fetch(None, 0, size - 1))
        plans.append(fetches)
    return plans


@dataclass
class Tally:
    requests: int = 0
    bytes_checked: int = 0
    problems: list[str] = field(default_factory=list)


async def _fetch_and_compare(
    client: httpx.AsyncClient, url: str, fetch: Fetch, fd: int, size: int, tally: Tally
) -> None:
    headers = {} if fetch.range is None else {"Range": fetch.range}
    async with client.stream("GET", url, headers=headers) as response:
        expected_status = 200 if fetch.range is None else 206
        if response.status_code != expected_status:
            tally.problems.append(f"{fetch}: status {response.status_code}")
            return
        if fetch.range is not None:
            content_range = f"bytes {fetch.first}-{fetch.last}/{size}"
            if response.headers.get("content-range") != content_range:
                tally.problems.append(f"{fetch}: {response.headers.get('content-range')}")
        length = fetch.last - fetch.first + 1
        if response.headers.get("content-length") != str(length):
            tally.problems.append(f"{fetch}: content-length {response.headers['content-length']}")
        offset = fetch.first
        async for chunk in response.aiter_raw():
            if chunk != os.pread(fd, len(chunk), offset):
                tally.problems.append(f"{fetch}: wrong bytes at {offset}")
                return
            offset += len(chunk)
        if offset != fetch.last + 1:
            tally.problems.append(f"{fetch}: ended at {offset}")
            return
        tally.requests += 1
        tally.bytes_checked += length


async def _read_all(
    base_url: str, token: str, url: str, path: str, plans: list[list[Fetch]]
) -> Tally:
    tally = Tally()
    size = os.stat(path).st_size
    fd = os.open(path, os.O_RDONLY)
    start = asyncio.Event()

    async def reader(fetches: list[Fetch]) -> None:
        async with httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=120,
            trust_env=False,
        ) as client:
            await start.wait()  # all readers start together
            for fetch in fetches:
                await _fetch_and_compare(client, url, fetch, fd, size, tally)

    try:
        tasks = [asyncio.create_task(reader(fetches)) for fetches in plans]
        await asyncio.sleep(0)
        start.set()
        await asyncio.gather(*tasks)
    finally:
        os.close(fd)
    return tally


def read_in_child(
    base_url: str, token: str, url: str, path: str, plans: list[list[Fetch]]
) -> Tally:
    return asyncio.run(_read_all(base_url, token, url, path, plans))


# --- memory --------------------------------------------------------------------------------


class PeakRss:
    """Samples this process's resident set size every few milliseconds in a thread."""

    def __init__(self, interval: float = 0.005) -> None:
        self._process = psutil.Process()
        self._interval = interval
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self.baseline = self._process.memory_info().rss
        self.peak = self.baseline
        self.samples = 0

    def _run(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            self.samples += 1
            self._done.wait(self._interval)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


async def test_heavy_50_concurrent_range_readers_get_every_byte_in_bounded_memory(
    big_video: BigVideo,
) -> None:
    plans = reading_plan(big_video.size, seed=50)
    expected_bytes = sum(f.last - f.first + 1 for fetches in plans for f in fetches)
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        # Start the child (and its imports) before measuring anything.
        await asyncio.get_running_loop().run_in_executor(pool, os.getpid)
        gc.collect()
        started = time.monotonic()
        with PeakRss() as rss:
            tally = await asyncio.get_running_loop().run_in_executor(
                pool,
                read_in_child,
                big_video.server.base_url,
                big_video.account.token,
                big_video.url,
                str(big_video.path),
                plans,
            )
        elapsed = time.monotonic() - started
    print(
        f"\n{READERS} readers, {tally.requests} requests, {tally.bytes_checked / MiB:.0f} MiB "
        f"checked in {elapsed:.1f} s ({tally.bytes_checked / MiB / elapsed:.0f} MiB/s); "
        f"server RSS baseline {rss.baseline / MiB:.1f} MiB, peak {rss.peak / MiB:.1f} MiB, "
        f"growth {rss.growth / MiB:.1f} MiB (bound {RSS_BOUND / MiB:.0f} MiB, "
        f"{rss.samples} samples)"
    )
    assert tally.problems == []
    assert tally.requests == sum(len(fetches) for fetches in plans)
    assert tally.bytes_checked == expected_bytes
    assert rss.samples > 10
    assert rss.growth <= RSS_BOUND


# --- clients that go away --------------------------------------------------------------------


def open_handles(path: Path) -> int:
    target = os.path.realpath(path)
    return sum(os.path.realpath(f.path) == target for f in psutil.Process().open_files())


async def wait_until(condition: Callable[[], bool], seconds: float = 5) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


def server_loop(live: LiveServer) -> asyncio.AbstractEventLoop:
    return live.server.servers[0].get_loop()


async def server_tasks(live: LiveServer) -> collections.Counter[str]:
    """The tasks alive on the server's event loop, by coroutine name, read on that loop."""

    async def snapshot() -> collections.Counter[str]:
        me = asyncio.current_task()
        return collections.Counter(
            task.get_coro().__qualname__ for task in asyncio.all_tasks() if task is not me
        )

    future = asyncio.run_coroutine_threadsafe(snapshot(), server_loop(live))
    return await asyncio.wrap_future(future)


@pytest.fixture
def without_gc() -> Iterator[None]:
    """Files must be closed by the code, not by the garbage collector finding a lost object:
    collect what earlier tests left, then keep the collector off while the test runs."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def send_get(
    video: BigVideo, headers: dict[str, str]
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = "127.0.0.1", video.server.port
    reader, writer = await asyncio.open_connection(host, port)
    lines = [f"GET {video.url} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{name}: {value}" for name, value in {**video.account.auth, **headers}.items()]
    writer.write("\r\n".join([*lines, "", ""]).encode())
    await writer.drain()
    return reader, writer


LEAVERS = [
    ("whole file, reset", {}, "abort"),
    ("0-, closed", {"Range": "bytes=0-"}, "close"),
    ("middle range, reset", {"Range": "bytes=1000000-40000000"}, "abort"),
    ("multipart, closed", {"Range": "bytes=0-9999999,20000000-"}, "close"),
    ("whole file, closed", {}, "close"),
]


@pytest.mark.usefixtures("without_gc")
async def test_clients_that_leave_mid_stream_leave_no_open_file_and_no_task(
    big_video: BigVideo,
) -> None:
    live = big_video.server
    assert (await big_video.account.client.head(big_video.url)).status_code == 200
    idle = await server_tasks(live)
    assert open_handles(big_video.path) == 0
    for name, headers, how in LEAVERS:
        reader, writer = await send_get(big_video, headers)
        received = b""
        while len(received) < MiB:
            chunk = await reader.read(64 * 1024)
            assert chunk, name
            received += chunk
        status_line = received.split(b"\r\n", 1)[0]
        assert status_line in (b"HTTP/1.1 200 OK", b"HTTP/1.1 206 Partial Content"), name
        # Mid-stream (50 MB do not fit in the socket buffers): the file is open and the
        # request is running, so the checks below can fail.
        assert open_handles(big_video.path) == 1, name
        assert len(live.server.server_state.tasks) == 1, name
        if how == "abort":
            writer.transport.abort()  # RST
        else:
            writer.close()  # FIN, with unread data left behind
        await writer.wait_closed()
        assert await wait_until(lambda: open_handles(big_video.path) == 0), f"{name}: file open"
        assert await wait_until(lambda: not live.server.server_state.tasks), f"{name}: task"
    await asyncio.sleep(0.2)
    assert await server_tasks(live) == idle
    assert open_handles(big_video.path) == 0
    # The server is none the worse for it.
    tail = await big_video.account.client.get(big_video.url, headers={"Range": "bytes=-4096"})
    assert tail.status_code == 206
    with big_video.path.open("rb") as stored:
        stored.seek(-4096, os.SEEK_END)
        assert tail.content == stored.read()


async def keep_thread_pool_busy(seconds: float) -> None:
    """Runs on the server's loop: keep every worker of its default executor (the one aiofiles
    uses) busy, as the reads of many concurrent streams do under load."""
    loop = asyncio.get_running_loop()
    workers = min(32, (os.cpu_count() or 1) + 4)  # ThreadPoolExecutor's default
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for _ in range(workers):
            loop.run_in_executor(None, time.sleep, 0.05)
        await asyncio.sleep(0.05)


@pytest.mark.usefixtures("without_gc")
async def test_a_client_leaving_right_after_the_last_byte_under_load_leaves_no_open_file(
    big_video: BigVideo,
) -> None:
    """A player that aborts a range request as soon as it has the bytes it asked for, while
    the server's thread pool is busy: seen at the end of the 50-reader run, where one to
    three files stayed open until the garbage collector found them."""
    live = big_video.server
    assert open_handles(big_video.path) == 0
    busy = asyncio.run_coroutine_threadsafe(keep_thread_pool_busy(1.5), server_loop(live))
    await asyncio.sleep(0.1)
    for attempt in range(10):
        first = attempt * 1000
        reader, writer = await send_get(big_video, {"Range": f"bytes={first}-{first + 99}"})
        received = b""
        while b"\r\n\r\n" not in received or len(received.split(b"\r\n\r\n", 1)[1]) < 100:
            chunk = await reader.read(64 * 1024)
            assert chunk
            received += chunk
        assert received.startswith(b"HTTP/1.1 206 ")
        writer.transport.abort()  # the player has what it needs
    await asyncio.wrap_future(busy)
    assert await wait_until(lambda: not live.server.server_state.tasks)
    assert await wait_until(lambda: open_handles(big_video.path) == 0, seconds=2), (
        f"{open_handles(big_video.path)} of 10 responses left the video open"
    )
