"""How does our hand-written range streaming compare with its peers on the same video file?

One run measures, one server at a time, on the same file:

- reelvault: the real app in direct mode (`REELVAULT_MEDIA_DELIVERY=direct`, our own range
  engine), in its own uvicorn process (`uvicorn reelvault.app:create_app --factory`, via
  bench/servers.py) started from a small settings env, on a SQLite database built by the real
  migrations. A user registers and logs in through the API and imports a real ~--size-mb H.264
  video (720p film grain rendered with PyAV); every request carries the Bearer token, so each
  one pays for the JWT check, the user and generation lookups, the stat and the plan, as in
  production (INFO logging included). The benchmark talks to the app over HTTP only; it finds
  the stored file (which the peers serve) by the item's id in the media directory, and checks
  over HTTP that it is the file the app serves.
- accel via nginx: the same app and data with `REELVAULT_MEDIA_DELIVERY=accel`, behind a real
  Nginx running OUR nginx.conf as deploy/render-nginx.sh renders it (free ports, temporary run
  and log folders, as tests/support/nginx.py does): the app checks the token and ownership and
  answers X-Accel-Redirect, Nginx sends the bytes. The conf is used as it is, so Nginx has
  `worker_processes auto` (one per core), its JSON access log and upstream keep-alive; the
  row's CPU and RSS are the app's and Nginx's together.
- nginx: the same file served statically by Debian's nginx (`sendfile on`, one worker process,
  a temporary nginx.conf written here, on a free port). `tcp_nopush` stays at nginx's default,
  off: with it on (as in our nginx.conf; --nginx-tcp-nopush) 64 KiB ranges stall for the 40 ms
  of a delayed ACK on loopback, which would measure TCP_CORK rather than nginx.
- s3 direct, s3 redirect, s3 accel via nginx: the same library moved into a bucket of
  moto_server (the suite's S3-protocol server, its own process; the videos and thumbnails
  under the keys their rows name, as `reelvault storage migrate` puts them), and the app on
  it (`REELVAULT_STORAGE=s3`) in each delivery mode: direct streams ranged GETs of the store;
  redirect answers 302 to a presigned URL, which the verified client follows as a browser
  does (both legs timed; no wrk); accel sends X-Accel-Redirect and our nginx.conf's Nginx
  proxies the planned GET to the store (--nginx-s3-cache: its slice cache on).
- Starlette: `FileResponse` in a ten-line app (bench/streaming_peers.py) served by uvicorn in
  its own process, when Starlette is installed (`pip install -e '.[bench]'`).
- Litestar `File`: the framework's own file response, also in its own uvicorn process. It has
  no Range support: its range rows answer 200 with the whole file, and the table says so with
  the ratio of bytes sent to bytes asked instead of pretending they are comparable.

Every server runs as one process (uvicorn: one worker, uvloop and httptools; nginx: one
worker), so the rows compare what a single core's worth of server does; accel is the exception
(the app's process plus our nginx.conf's Nginx), as in production. Workloads, each one row
per server: whole-file GETs, random 64 KiB ranges, random 4 MiB ranges, Safari's `bytes=0-1`
probe, and three 64 KiB ranges in one request (multipart/byteranges).

Each row has two phases of --seconds each with --concurrency keep-alive connections:

1. The verified phase: an asyncio client here (uvloop, a BufferedProtocol that receives
   straight into its buffers) checks every response: status, Content-Range, Content-Length,
   the bytes received (a server that sends more than it announced is caught on the next
   request of the connection), multipart part headers, and a sample of bytes per response
   (or per part) against the file. Its req/s, MiB/s, p50 and p99 are the "req/s" columns.
2. The wrk phase: wrk (C, epoll) drives the same random requests from a Lua script. It is a
   better load generator than Python on this 2-core machine, where the client shares the
   cores with the server, so its columns are the throughput to quote. wrk does not see bodies
   (a Lua `response()` hook would make it buffer them), so its answers are checked by status
   class and by the bytes it read per response against what the verified phase received. One
   caveat: wrk reads 8 KiB per read(2), which caps it on whole-file GETs, where the verified
   client (1 MiB reads) can go faster. Without wrk (`apt-get install wrk`) or with --quick,
   the wrk columns are left out and the reason printed.

During each row the server's process tree is sampled with psutil every 50 ms for peak RSS, and
its CPU seconds (user + system, all threads) are read at the start and end of the row. The run
exits 1 if any response failed a check, after printing the table.

After the table, the ratios the project targets, each marked pass or miss (a miss does not fail
the run; each side's throughput is the better of its two load generators):

- direct, authenticated: 64 KiB ranges and the bytes=0-1 probe >= 2x Starlette FileResponse's
  req/s; 4 MiB ranges >= 1.5x Starlette's MiB/s; the whole file >= Litestar File's MiB/s and
  >= 0.6x static Nginx's;
- accel through Nginx: 64 KiB ranges and the probe >= 0.9x the direct app's req/s; the whole
  file >= 0.8x static Nginx's MiB/s.

    .venv/bin/python bench/streaming.py
    .venv/bin/python bench/streaming.py --size-mb 200 --concurrency 16 --seconds 10
    .venv/bin/python bench/streaming.py --quick       # tiny: the CI smoke test runs this
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import math
import mmap
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

import av
import httpx
import psutil

from reelvault.settings import Settings
from servers import (
    Running,
    app_env,
    free_port,
    migration,
    stop_process,
    uvicorn_server,
    wait_ready,
)

ROOT = Path(__file__).resolve().parents[1]
STARTED = time.perf_counter()
KiB = 1024
MiB = 1024 * KiB
PASSWORD = "bench streaming password"
PEER_FILE_ENV = "BENCH_STREAMING_FILE"  # bench/streaming_peers.py reads the file from here
PEER_ROUTE = "/video.mp4"
SERVERS = ("nginx", "reelvault", "accel", "s3-direct", "s3-redirect", "s3-accel")
SERVERS += ("starlette", "litestar")
ACCEL = "accel via nginx"  # the table's name of the app in accel mode behind our nginx.conf
# The same video in an object store (moto_server, the suite's S3-protocol server): the app in
# each delivery mode on s3, named so in the table.
S3_DIRECT, S3_REDIRECT, S3_ACCEL = "s3 direct", "s3 redirect", "s3 accel via nginx"
S3_BUCKET = "reelvault-bench"
S3_PREFIX = "library/"
RENDER_NGINX = ROOT / "deploy" / "render-nginx.sh"
SAMPLE = 64  # bytes per sampled window
KEEP_LIMIT = 8 * MiB + 64 * KiB  # bodies up to this size are kept whole for checking
SCRATCH = 1 * MiB  # receive buffer for bodies that are streamed through, not kept
HEAD_LIMIT = 64 * KiB
REQUEST_TIMEOUT = 60.0
SAMPLE_INTERVAL = 0.05


def log(message: str) -> None:
    print(f"[{time.perf_counter() - STARTED:6.1f}s] {message}", file=sys.stderr, flush=True)


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def mib(value: float) -> str:
    return f"{value / MiB:,.1f}"


# --- the video ------------------------------------------------------------------------------
def render_video(path: Path, size: int) -> tuple[int, int, float]:
    """A real H.264 MP4 (faststart, 720p, 24 fps) of at least `size` bytes of coded video.

    Film grain, as random luma and chroma of small amplitude: it keeps the bitrate high (about
    40 Mbit/s), so the file reaches its size in seconds of encoding rather than minutes.
    """
    width, height, fps = 1280, 720, 24
    grain = bytes(116 + value % 24 for value in range(256))
    rng = random.Random(20261125)
    encoder = "libx264" if "libx264" in av.codecs_available else "h264"
    written = frames = 0
    with av.open(str(path), "w", format="mp4", options={"movflags": "faststart"}) as container:
        stream = container.add_stream(encoder, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = 2 * fps
        if encoder == "libx264":
            stream.options = {"preset": "ultrafast", "crf": "23"}
        while written < size:
            frame = av.VideoFrame(width, height, "yuv420p")
            frame.pts = frames
            frame.time_base = Fraction(1, fps)
            for plane in frame.planes:
                plane.update(rng.randbytes(plane.buffer_size).translate(grain))
            for packet in stream.encode(frame):
                written += packet.size
                container.mux(packet)
            frames += 1
        for packet in stream.encode(None):
            container.mux(packet)
    return width, height, frames / fps


# --- the servers ----------------------------------------------------------------------------
NGINX_CONF = """\
daemon off;
master_process on;
worker_processes 1;
{user}pid {run}/nginx.pid;
error_log {run}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    types {{ video/mp4 mp4; }}
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path {run}/client_body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
    sendfile on;
    tcp_nopush {nopush};
    keepalive_timeout 65s;
    keepalive_requests 1000000;  # uvicorn has no such limit: no reconnects mid-row
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"""


def nginx_binary() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None


@contextlib.contextmanager
def nginx_server(binary: str, file: Path, run_dir: Path, nopush: bool) -> Iterator[Running]:
    run_dir.mkdir()
    port = free_port()
    # As root, nginx's workers would drop to `nobody`, who cannot enter our 0700 temp dirs.
    user = f"user {psutil.Process().username()};\n" if os.geteuid() == 0 else ""
    conf = run_dir / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(
            user=user, run=run_dir, port=port, root=file.parent, nopush="on" if nopush else "off"
        )
    )
    log_path = run_dir / "error.log"
    command = [binary, "-p", str(run_dir), "-c", str(conf), "-e", str(log_path)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        running = Running(f"http://127.0.0.1:{port}", port, process)
        wait_ready(running, f"{running.base_url}/{file.name}", {}, log_path)
        yield running
    finally:
        stop_process(process)


def render_nginx_conf(values: dict[str, str]) -> str:
    """Our nginx.conf as deploy/render-nginx.sh renders it for these REELVAULT_* values."""
    return subprocess.run(
        ["sh", str(RENDER_NGINX), str(ROOT / "nginx.conf")],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **values},
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@contextlib.contextmanager
def accel_server(
    binary: str,
    env: dict[str, str],
    workdir: Path,
    video_path: str,
    token: str,
    render: dict[str, str] | None = None,
    name: str = "nginx-accel",
) -> Iterator[Running]:
    """The app in accel mode on the same data, behind a real Nginx running OUR nginx.conf.

    As tests/support/nginx.py does it: rendered by deploy/render-nginx.sh on free ports, its
    run and log folders in a temporary prefix; as root, Nginx's workers are `nobody`, so the
    folders on the way to the media are made searchable (the container's Nginx, too, reads what
    the app wrote as another user). The conf is used as it is: `worker_processes auto` (one
    per core), its JSON access log, gzip, the security headers, upstream keep-alive.
    """
    accel_env = {**env, "REELVAULT_MEDIA_DELIVERY": "accel"}
    settings = Settings.from_env(accel_env)
    prefix = workdir / name
    for folder in (prefix / "logs", prefix / "run", prefix / "web"):
        folder.mkdir(parents=True)
    app_log = workdir / f"{name}.log"
    with uvicorn_server("reelvault.app:create_app", accel_env, app_log, None) as app:
        media = settings.media_root
        for folder in {workdir, prefix, prefix / "run", prefix / "web", *media.parents}:
            if folder == workdir or workdir in folder.parents:
                folder.chmod(folder.stat().st_mode | 0o755)
        for folder in (media, *(path for path in media.rglob("*") if path.is_dir())):
            folder.chmod(folder.stat().st_mode | 0o755)
        port = free_port()
        conf = prefix / "nginx.conf"
        conf.write_text(
            render_nginx_conf(
                {
                    "REELVAULT_NGINX_LISTEN": f"127.0.0.1:{port}",
                    "REELVAULT_UPSTREAM": f"127.0.0.1:{app.port}",
                    "REELVAULT_WEB_ROOT": str(prefix / "web"),
                    "REELVAULT_MEDIA_DIR": str(media),
                    "REELVAULT_ACCEL_PREFIX": settings.accel_prefix,
                    "REELVAULT_MAX_UPLOAD_BYTES": str(settings.max_upload_bytes),
                    "REELVAULT_NGINX_RUN_DIR": str(prefix / "run"),
                    "REELVAULT_NGINX_LOG_DIR": str(prefix / "logs"),
                    **(render or {}),
                }
            )
        )
        error_log = prefix / "logs" / "error.log"
        command = [binary, "-p", str(prefix), "-c", str(conf), "-e", str(error_log)]
        checked = subprocess.run([*command, "-t", "-q"], capture_output=True, text=True)
        if checked.returncode != 0:
            raise SystemExit(f"nginx -t refused the rendered nginx.conf:\n{checked.stderr}")
        process = subprocess.Popen(
            [*command, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            running = Running(f"http://127.0.0.1:{port}", port, process)
            auth = {"Authorization": f"Bearer {token}"}
            wait_ready(running, running.base_url + video_path, auth, error_log)
            running.tree += app.tree  # the row's CPU and RSS: Nginx and the app together
            yield running
        finally:
            stop_process(process)


@contextlib.contextmanager
def s3_store(workdir: Path, media_root: Path) -> Iterator[dict[str, str]]:
    """moto_server on a free port (the suite's S3-protocol server), holding the library's
    videos and thumbnails under the keys their rows name, as `reelvault storage migrate`
    would put them. Yields the REELVAULT_S3_* settings of an app on that bucket."""
    import boto3  # moto's own dependency: only the s3 rows need it
    from botocore.config import Config

    port = free_port()
    found = shutil.which("moto_server", path=str(Path(sys.executable).parent))
    command = [found] if found else [sys.executable, "-m", "moto.server"]
    log_path = workdir / "moto.log"
    with log_path.open("ab") as output:
        process = subprocess.Popen(
            [*command, "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{endpoint}/moto-api/", timeout=1)
                break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"moto_server did not start: {log_path}") from None
                time.sleep(0.1)
        env = {
            "REELVAULT_STORAGE": "s3",
            "REELVAULT_S3_ENDPOINT_URL": endpoint,
            "REELVAULT_S3_BUCKET": S3_BUCKET,
            "REELVAULT_S3_REGION": "us-east-1",
            "REELVAULT_S3_ACCESS_KEY_ID": "bench",
            "REELVAULT_S3_SECRET_ACCESS_KEY": "bench-secret",
            "REELVAULT_S3_PREFIX": S3_PREFIX,
        }
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench-secret",
            config=Config(s3={"addressing_style": "path"}),
        )
        client.create_bucket(Bucket=S3_BUCKET)
        for folder in ("videos", "thumbnails"):
            for path in sorted((media_root / folder).glob("*")):
                if path.is_file() and not path.name.startswith("."):
                    key = f"{S3_PREFIX}{folder}/{path.name}"
                    client.upload_file(str(path), S3_BUCKET, key)
        log(f"moto_server on {endpoint} holds the library")
        yield env
    finally:
        stop_process(process)


# --- the workloads ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Ask:
    range: str | None  # the Range header, None for a whole-file GET
    spans: tuple[tuple[int, int], ...]  # inclusive (start, end) byte ranges asked for

    def asked_bytes(self, size: int) -> int:
        return sum(end - start + 1 for start, end in self.spans) if self.spans else size


@dataclass(frozen=True)
class Workload:
    title: str
    parts: int  # 0: the whole file; 1: one range; more: that many ranges in one request
    span: int = 0  # bytes per range
    fixed: str | None = None  # a fixed Range header instead of random ranges

    def ask(self, rng: random.Random, size: int) -> Ask:
        """Random ranges, drawn as wrk's Lua script draws them (LUA_SCRIPT below)."""
        if self.fixed is not None:
            first, _, last = self.fixed.removeprefix("bytes=").partition("-")
            return Ask(self.fixed, ((int(first), int(last)),))
        if self.parts == 0:
            return Ask(None, ())
        # Range i starts in the i-th slice and ends 2+ bytes before the next slice begins:
        # ranges never overlap nor touch, so no server may merge them.
        slice_size = size // self.parts
        spans = []
        for index in range(self.parts):
            low, high = index * slice_size, (index + 1) * slice_size - 1
            if self.parts == 1:
                high = size
            start = rng.randint(low, high - self.span)
            spans.append((start, start + self.span - 1))
        value = ",".join(f"{start}-{end}" for start, end in spans)
        return Ask(f"bytes={value}", tuple(spans))


def workloads(size: int) -> tuple[Workload, ...]:
    big = min(4 * MiB, size // 2)
    big_title = f"{big // MiB} MiB ranges" if big % MiB == 0 else f"{big // KiB} KiB ranges"
    return (
        Workload("whole file", 0),
        Workload("64 KiB ranges", 1, 64 * KiB),
        Workload(big_title, 1, big),
        Workload("bytes=0-1 probe", 1, 2, fixed="bytes=0-1"),
        Workload("3 x 64 KiB multi", 3, 64 * KiB),
    )


# --- the verified client ---------------------------------------------------------------------
class ProtocolError(Exception):
    """The server broke HTTP/1.1 framing: we cannot trust this connection any more."""


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    length: int  # body bytes
    wire: int  # head + body bytes
    body: memoryview | None  # the whole body when kept; valid until the next request
    windows: list[tuple[int, bytearray]]  # sampled (offset, bytes) of a streamed body


class Connection(asyncio.BufferedProtocol):
    """A keep-alive HTTP/1.1 client connection that receives straight into its own buffers."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.transport: asyncio.Transport | None = None
        self.scratch = memoryview(bytearray(SCRATCH))
        self.keep = memoryview(bytearray(0))
        self.pending: asyncio.Future[Reply] | None = None
        self.closed = False
        self.broken: str | None = None  # a framing error seen after its reply was delivered
        self._reset()

    def _reset(self) -> None:
        self.head = bytearray()
        self.in_body = False
        self.kept = False
        self.status = 0
        self.headers: dict[str, str] = {}
        self.expected = 0
        self.received = 0
        self.head_size = 0
        self.windows: list[tuple[int, bytearray]] = []

    # asyncio's side
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(ConnectionError(f"connection lost: {exc or 'closed by the server'}"))

    def get_buffer(self, sizehint: int) -> memoryview:
        if self.in_body and self.kept:
            return self.keep[self.received : self.expected]
        return self.scratch

    def buffer_updated(self, nbytes: int) -> None:
        if self.in_body and self.kept:
            self.received += nbytes
            if self.received == self.expected:
                self._finish()
            return
        try:
            self._feed(self.scratch[:nbytes])
        except ProtocolError as exc:
            if self.pending is None:
                self.broken = str(exc)
            self._fail(exc)
            self.close()

    # ours
    async def exchange(self, request: bytes) -> Reply:
        if self.closed or self.transport is None:
            raise ConnectionError("connection closed")
        self.pending = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.pending

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _fail(self, exc: Exception) -> None:
        if self.pending is not None and not self.pending.done():
            self.pending.set_exception(exc)
        self.pending = None

    def _feed(self, data: memoryview) -> None:
        if self.pending is None:
            raise ProtocolError(f"{len(data)} bytes arrived with no request outstanding")
        if self.in_body:
            self._body(data)
            return
        before = len(self.head)
        self.head += data[:HEAD_LIMIT]
        end = self.head.find(b"\r\n\r\n", max(0, before - 3))
        if end < 0:
            if len(self.head) >= HEAD_LIMIT:
                raise ProtocolError("response head longer than 64 KiB")
            return
        self.head_size = end + 4
        self._parse_head(bytes(self.head[:end]))
        rest = data[self.head_size - before :]
        self.head = bytearray()
        self.in_body = True
        if self.expected == 0:
            self._finish()
            if len(rest):
                raise ProtocolError(f"{len(rest)} bytes beyond Content-Length 0")
        elif len(rest):
            self._body(rest)

    def _parse_head(self, head: bytes) -> None:
        status_line, *lines = head.decode("latin-1").split("\r\n")
        version, _, rest = status_line.partition(" ")
        if version != "HTTP/1.1" or not rest[:3].isdigit():
            raise ProtocolError(f"bad status line {status_line!r}")
        self.status = int(rest[:3])
        headers: dict[str, str] = {}
        for line in lines:
            name, _, value = line.partition(":")
            key, value = name.strip().lower(), value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        self.headers = headers
        if "transfer-encoding" in headers:
            raise ProtocolError(f"unexpected Transfer-Encoding: {headers['transfer-encoding']}")
        length = headers.get("content-length", "")
        if not length.isdigit():
            raise ProtocolError(f"no usable Content-Length: {length!r}")
        self.expected = int(length)
        self.received = 0
        self.kept = self.expected <= KEEP_LIMIT
        if self.kept:
            if len(self.keep) < self.expected:
                self.keep = memoryview(bytearray(KEEP_LIMIT))
        else:
            offsets = {0, self.expected - SAMPLE}
            offsets.update(self.rng.randrange(self.expected - SAMPLE) for _ in range(2))
            self.windows = [(offset, bytearray(SAMPLE)) for offset in sorted(offsets)]

    def _body(self, data: memoryview) -> None:
        room = self.expected - self.received
        if len(data) > room:
            raise ProtocolError(f"{len(data) - room} bytes beyond Content-Length {self.expected}")
        position = self.received
        if self.kept:
            self.keep[position : position + len(data)] = data
        else:
            for offset, window in self.windows:
                low, high = max(offset, position), min(offset + SAMPLE, position + len(data))
                if low < high:
                    window[low - offset : high - offset] = data[low - position : high - position]
        self.received += len(data)
        if self.received == self.expected:
            self._finish()

    def _finish(self) -> None:
        reply = Reply(
            status=self.status,
            headers=self.headers,
            length=self.received,
            wire=self.head_size + self.received,
            body=self.keep[: self.received] if self.kept else None,
            windows=self.windows,
        )
        pending = self.pending
        self.pending = None
        self._reset()
        if pending is not None and not pending.done():
            pending.set_result(reply)
        if reply.headers.get("connection", "").lower() == "close":
            self.close()


OK, IGNORED, BAD = "ok", "ignored", "bad"
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)\Z")


class Checker:
    """Every reply against the file: status, framing, Content-Range and sampled bytes."""

    def __init__(self, data: mmap.mmap, rng: random.Random) -> None:
        self.data = data
        self.size = len(data)
        self.rng = rng

    def verdict(self, reply: Reply, ask: Ask) -> tuple[str, str]:
        if reply.status == 200:
            if reply.length != self.size:
                return BAD, f"200 with {reply.length} bytes, the file has {self.size}"
            problem = self._samples(reply, 0)
            if problem:
                return BAD, problem
            return (IGNORED if ask.spans else OK), ""
        if reply.status != 206 or not ask.spans:
            return BAD, f"status {reply.status} for Range {ask.range}"
        if len(ask.spans) == 1:
            return self._single(reply, ask.spans[0])
        return self._multipart(reply, ask)

    def _single(self, reply: Reply, span: tuple[int, int]) -> tuple[str, str]:
        start, end = span
        wanted = f"bytes {start}-{end}/{self.size}"
        if reply.headers.get("content-range") != wanted:
            return BAD, f"Content-Range {reply.headers.get('content-range')!r}, want {wanted!r}"
        if reply.length != end - start + 1:
            return BAD, f"{reply.length} bytes for {wanted}"
        problem = self._samples(reply, start)
        return (BAD, problem) if problem else (OK, "")

    def _samples(self, reply: Reply, file_offset: int) -> str:
        pieces = reply.windows if reply.body is None else self._windows(reply.body)
        for offset, piece in pieces:
            at = file_offset + offset
            if piece != self.data[at : at + len(piece)]:
                return f"bytes at {at} differ from the file"
        return ""

    def _windows(self, body: memoryview) -> list[tuple[int, memoryview]]:
        width = min(SAMPLE, len(body))
        last = len(body) - width
        offsets = {0, last, self.rng.randint(0, last), self.rng.randint(0, last)}
        return [(offset, body[offset : offset + width]) for offset in sorted(offsets)]

    def _multipart(self, reply: Reply, ask: Ask) -> tuple[str, str]:
        content_type = reply.headers.get("content-type", "")
        kind, _, params = content_type.partition(";")
        boundary = params.strip().removeprefix("boundary=").strip('"')
        if kind.strip().lower() != "multipart/byteranges" or not boundary:
            return BAD, f"206 for {len(ask.spans)} ranges with Content-Type {content_type!r}"
        if "content-range" in reply.headers:
            return BAD, "a multipart 206 with a top-level Content-Range"
        if reply.body is None:
            return BAD, f"a {reply.length}-byte multipart body, larger than we check"
        body, delimiter = reply.body, b"--" + boundary.encode("latin-1")
        raw = bytes(body[:HEAD_LIMIT])
        position = raw.find(delimiter)
        if position not in (0, 2):  # nginx starts with CRLF, a preamble RFC 2046 allows
            return BAD, "multipart body does not open with its boundary"
        got: list[tuple[int, int]] = []
        while True:
            position += len(delimiter)
            if bytes(body[position : position + 2]) == b"--":
                break
            if bytes(body[position : position + 2]) != b"\r\n":
                return BAD, f"no CRLF after the boundary at byte {position}"
            head_end = bytes(body[position : position + 1024]).find(b"\r\n\r\n")
            if head_end < 0:
                return BAD, f"unterminated part head at byte {position}"
            head = bytes(body[position + 2 : position + head_end]).decode("latin-1")
            fields = {
                name.strip().lower(): value.strip()
                for name, _, value in (line.partition(":") for line in head.split("\r\n"))
            }
            match = _CONTENT_RANGE.match(fields.get("content-range", ""))
            if not match or int(match[3]) != self.size:
                return BAD, f"part Content-Range {fields.get('content-range')!r}"
            start, end = int(match[1]), int(match[2])
            data_start = position + head_end + 4
            data_end = data_start + end - start + 1
            part = Reply(206, fields, end - start + 1, 0, body[data_start:data_end], [])
            if len(part.body or b"") != part.length:
                return BAD, f"part {start}-{end} cut short"
            problem = self._samples(part, start)
            if problem:
                return BAD, problem
            got.append((start, end))
            if bytes(body[data_end : data_end + 2]) != b"\r\n":
                return BAD, f"no CRLF after part {start}-{end}"
            position = data_end + 2
            if bytes(body[position : position + len(delimiter)]) != delimiter:
                return BAD, f"no boundary after part {start}-{end}"
        if sorted(got) != sorted(ask.spans):
            return BAD, f"parts {got} for ranges {list(ask.spans)}"
        return OK, ""


@dataclass
class PhaseStats:
    requests: int = 0
    body_bytes: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    verdicts: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    wire_bytes: int = 0
    wire_min: int = 0
    wire_max: int = 0
    asked_bytes: int = 0
    problems: list[str] = field(default_factory=list)

    def note(self, reply: Reply | None, verdict: str, why: str, ask: Ask, size: int) -> None:
        self.verdicts[verdict] += 1
        if verdict == BAD and len(self.problems) < 5:
            self.problems.append(why)
        if reply is None:
            return
        self.statuses[reply.status] += 1
        self.wire_bytes += reply.wire
        self.wire_min = min(self.wire_min or reply.wire, reply.wire)
        self.wire_max = max(self.wire_max, reply.wire)
        self.asked_bytes += ask.asked_bytes(size)

    def percentile(self, pct: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return math.nan
        return ordered[min(len(ordered) - 1, max(0, math.ceil(pct / 100 * len(ordered)) - 1))]


def request_bytes(port: int, path: str, token: str, ask: Ask) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Authorization: Bearer {token}"]
    if ask.range is not None:
        lines.append(f"Range: {ask.range}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def verified_phase(
    port: int,
    path: str,
    token: str,
    workload: Workload,
    checker: Checker,
    concurrency: int,
    seconds: float,
    seed: int,
    follow: bool = False,
) -> PhaseStats:
    """`concurrency` keep-alive connections, one warm-up request each, then `seconds` measured.
    With `follow`, a 302 is followed as a browser does (the store's URL, the same Range, no
    credentials, a connection of its own); the latency is both legs'."""
    loop = asyncio.get_running_loop()
    stats = PhaseStats()
    size = checker.size

    async def connect(rng: random.Random) -> Connection:
        _, connection = await loop.create_connection(lambda: Connection(rng), "127.0.0.1", port)
        return connection

    async def followed(reply: Reply, ask: Ask, rng: random.Random) -> Reply:
        target = urlsplit(reply.headers.get("location", ""))
        if target.hostname is None or target.port is None:
            raise ProtocolError(f"{reply.status} without a usable Location")
        _, store = await loop.create_connection(
            lambda: Connection(rng), target.hostname, target.port
        )
        try:
            lines = [f"GET {target.path}?{target.query} HTTP/1.1", f"Host: {target.netloc}"]
            if ask.range is not None:
                lines.append(f"Range: {ask.range}")
            request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
            return await asyncio.wait_for(store.exchange(request), REQUEST_TIMEOUT)
        finally:
            store.close()

    async def one(state: dict[str, Connection | None], rng: random.Random, measured: bool) -> None:
        ask = workload.ask(rng, size)
        connection = state["connection"]
        if connection is not None and connection.broken:
            stats.note(None, BAD, f"after the last reply: {connection.broken}", ask, size)
            connection.broken = None
        began = time.perf_counter()
        try:
            if connection is None or connection.closed:
                connection = state["connection"] = await connect(rng)
                began = time.perf_counter()
            reply = await asyncio.wait_for(
                connection.exchange(request_bytes(port, path, token, ask)), REQUEST_TIMEOUT
            )
            if follow and reply.status in (302, 307):
                reply = await followed(reply, ask, rng)
        except (OSError, TimeoutError, ProtocolError) as exc:
            if connection is not None:
                connection.close()
            state["connection"] = None
            stats.note(None, BAD, f"{type(exc).__name__}: {exc}", ask, size)
            return
        took = time.perf_counter() - began
        verdict, why = checker.verdict(reply, ask)
        if measured:
            stats.requests += 1
            stats.body_bytes += reply.length
            stats.latencies.append(took)
            stats.note(reply, verdict, why, ask, size)
        elif verdict == BAD:
            stats.note(reply, verdict, f"(warm-up) {why}", ask, size)

    states = [{"connection": None} for _ in range(concurrency)]
    rngs = [random.Random(seed * 1000 + index) for index in range(concurrency)]
    await asyncio.gather(*(one(s, r, False) for s, r in zip(states, rngs, strict=True)))
    began = time.perf_counter()
    deadline = began + seconds

    async def worker(state: dict[str, Connection | None], rng: random.Random) -> None:
        while True:
            await one(state, rng, True)
            if time.perf_counter() >= deadline:
                break

    await asyncio.gather(*(worker(s, r) for s, r in zip(states, rngs, strict=True)))
    stats.seconds = time.perf_counter() - began
    for state in states:
        if state["connection"] is not None:
            state["connection"].close()
    return stats


# --- wrk -------------------------------------------------------------------------------------
LUA_SCRIPT = """\
-- Written by bench/streaming.py: the workload's random requests, drawn as Workload.ask draws.
local size = tonumber(os.getenv("BENCH_SIZE"))
local parts = tonumber(os.getenv("BENCH_PARTS"))
local span = tonumber(os.getenv("BENCH_SPAN"))
local fixed = os.getenv("BENCH_RANGE") or ""
local path = os.getenv("BENCH_PATH")
local authorization = "Bearer " .. os.getenv("BENCH_TOKEN")
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("seed", threads)
end

function init(args)
  math.randomseed(7919 * seed)
end

local function spec(low, high)
  local start = math.random(low, high - span)
  return start .. "-" .. (start + span - 1)
end

function request()
  local headers = {Authorization = authorization}
  if fixed ~= "" then
    headers["Range"] = fixed
  elseif parts == 1 then
    headers["Range"] = "bytes=" .. spec(0, size)
  elseif parts > 1 then
    local slice = math.floor(size / parts)
    local specs = {}
    for i = 0, parts - 1 do
      specs[#specs + 1] = spec(i * slice, (i + 1) * slice - 1)
    end
    headers["Range"] = "bytes=" .. table.concat(specs, ",")
  end
  return wrk.format("GET", path, headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH-RESULT %d %d %d %d %d %d %d %d %.0f %.0f\\n",
    summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass
class WrkResult:
    requests: int
    seconds: float
    bytes: int
    errors: dict[str, int]
    p50: float  # seconds
    p99: float
    problems: list[str] = field(default_factory=list)


def wrk_phase(
    binary: str,
    script: Path,
    running: Running,
    path: str,
    token: str,
    workload: Workload,
    size: int,
    concurrency: int,
    seconds: float,
    verified: PhaseStats,
) -> WrkResult:
    env = {
        **os.environ,
        "BENCH_SIZE": str(size),
        "BENCH_PARTS": str(workload.parts),
        "BENCH_SPAN": str(workload.span),
        "BENCH_RANGE": workload.fixed or "",
        "BENCH_PATH": path,
        "BENCH_TOKEN": token,
    }
    command = [
        binary,
        "-t",
        str(min(2, concurrency)),
        "-c",
        str(concurrency),
        "-d",
        f"{max(1, math.ceil(seconds))}s",
        "--timeout",
        f"{int(REQUEST_TIMEOUT)}s",
        "-s",
        str(script),
        running.base_url + path,
    ]
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=seconds + 3 * REQUEST_TIMEOUT
    )
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH-RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    values = [int(v) for v in line.split()[1:]]
    duration, requests, read, connect, read_errors, write, status, timeout, p50, p99 = values
    errors = {
        "connect": connect,
        "read": read_errors,
        "write": write,
        "non-2xx/3xx": status,
        "timeout": timeout,
    }
    result = WrkResult(requests, duration / 1e6, read, errors, p50 / 1e6, p99 / 1e6)
    result.problems.extend(f"wrk: {count} {kind} errors" for kind, count in errors.items() if count)
    # What wrk read must be what the verified phase received per response, give or take the
    # responses still in flight when wrk stopped (one per connection at most).
    low, high = requests * verified.wire_min, (requests + concurrency) * verified.wire_max
    if requests == 0 or not low <= read <= high:
        result.problems.append(
            f"wrk: {read:,} bytes for {requests:,} responses, want {low:,} to {high:,}"
        )
    return result


# --- resources -------------------------------------------------------------------------------
class Sampler(threading.Thread):
    """Peak RSS of the server's process tree, sampled; CPU seconds read on demand."""

    def __init__(self, tree: Sequence[psutil.Process]) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.tree = list(tree)
        self.peak = self.row_peak = self.rss()
        self.halt = threading.Event()

    def rss(self) -> int:
        total = 0
        for process in self.tree:
            with contextlib.suppress(psutil.Error):
                total += process.memory_info().rss
        return total

    def cpu(self) -> float:
        total = 0.0
        for process in self.tree:
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                total += times.user + times.system
        return total

    def new_row(self) -> None:
        self.row_peak = self.rss()

    def run(self) -> None:
        while not self.halt.wait(SAMPLE_INTERVAL):
            rss = self.rss()
            self.peak = max(self.peak, rss)
            self.row_peak = max(self.row_peak, rss)

    def stop(self) -> None:
        self.halt.set()
        self.join()


# --- the run ---------------------------------------------------------------------------------
@dataclass
class Row:
    workload: Workload
    server: str
    verified: PhaseStats
    wrk: WrkResult | None
    cpu_s: float
    peak_rss: int


@dataclass
class ServerRun:
    name: str
    rows: list[Row]
    cpu_s: float
    peak_rss: int
    idle_rss: int


@dataclass
class Context:
    args: argparse.Namespace
    file: Path
    size: int
    token: str
    checker: Checker
    wrk: str | None
    script: Path
    runner: asyncio.Runner


def measure_server(
    ctx: Context, name: str, running: Running, path: str, seed: int, follow: bool = False
) -> ServerRun:
    sampler = Sampler(running.tree)
    idle = sampler.peak
    sampler.start()
    cpu_began = sampler.cpu()
    rows: list[Row] = []
    try:
        for index, workload in enumerate(workloads(ctx.size)):
            sampler.new_row()
            cpu = sampler.cpu()
            verified = ctx.runner.run(
                verified_phase(
                    running.port,
                    path,
                    ctx.token,
                    workload,
                    ctx.checker,
                    ctx.args.concurrency,
                    ctx.args.seconds,
                    seed * 100 + index,
                    follow,
                )
            )
            wrk = None
            if ctx.wrk is not None and not follow:  # wrk does not follow redirects
                wrk = wrk_phase(
                    ctx.wrk,
                    ctx.script,
                    running,
                    path,
                    ctx.token,
                    workload,
                    ctx.size,
                    ctx.args.concurrency,
                    ctx.args.seconds,
                    verified,
                )
            rows.append(Row(workload, name, verified, wrk, sampler.cpu() - cpu, sampler.row_peak))
            rate = verified.requests / verified.seconds if verified.seconds else 0.0
            log(
                f"{name}: {workload.title}: {rate:,.0f} req/s verified"
                + (f", {wrk.requests / wrk.seconds:,.0f} req/s wrk" if wrk else "")
            )
    finally:
        sampler.stop()
    return ServerRun(name, rows, sampler.cpu() - cpu_began, sampler.peak, idle)


def prepare(workdir: Path, size: int) -> tuple[dict[str, str], str, str, Path, str]:
    """Render the video, migrate, import it as a user through the API.

    Returns the app's env, the token, the video's API path, the stored file and a description.
    """
    source = workdir / "upload.mp4"
    env = app_env(workdir / "reelvault")
    log(f"migrating a fresh SQLite database, rendering a {mib(size)} MiB H.264 video meanwhile")
    with migration(env):
        width, height, duration = render_video(source, size)
    log("importing the video as a user through the API")
    email = f"bench-{uuid.uuid4().hex[:8]}@bench.reelvault.example"
    with (
        uvicorn_server("reelvault.app:create_app", env, workdir / "import.log", None) as app,
        httpx.Client(base_url=app.base_url, timeout=600) as client,
    ):
        credentials = {"email": email, "password": PASSWORD}
        client.post("/api/auth/register", json=credentials).raise_for_status()
        login = client.post("/api/auth/login", json=credentials)
        login.raise_for_status()
        token = login.json()["access_token"]
        with source.open("rb") as handle:
            imported = client.post(
                "/api/generations",
                data={"prompt": "Film grain test reel for the streaming benchmark"},
                files={"file": ("reel.mp4", handle, "video/mp4")},
                headers={"Authorization": f"Bearer {token}"},
            )
        if imported.status_code != 201:
            raise SystemExit(f"import failed: {imported.status_code} {imported.text}")
        item = imported.json()
        source.unlink()
        stored = stored_video(client, token, item, Settings.from_env(env).media_root)
    what = f"{stored.stat().st_size:,} bytes, {width}x{height} H.264, {duration:.1f} s"
    return env, token, item["video_url"], stored, what


def stored_video(client: httpx.Client, token: str, item: dict, media_root: Path) -> Path:
    """The imported video's file in the media directory, found by its id in the file name (the
    store's layout is the app's business) and proven over HTTP: the API's bytes are the file's."""
    found = [
        path
        for path in media_root.rglob(f"*{item['id']}*")
        if path.is_file() and path.suffix == ".mp4" and not path.name.startswith(".")
    ]
    if len(found) != 1:
        raise SystemExit(f"want one stored file for {item['id']} in {media_root}, found {found}")
    stored = found[0]
    with (
        stored.open("rb") as handle,
        client.stream(
            "GET",
            item["video_url"],
            headers={"Authorization": f"Bearer {token}", "Range": "bytes=0-65535"},
        ) as answer,
    ):
        head = answer.read()
        want = f"bytes 0-{len(head) - 1}/{stored.stat().st_size}"
        if answer.headers.get("content-range") != want or head != handle.read(len(head)):
            raise SystemExit(f"{stored} is not what {item['video_url']} serves")
    return stored


def run(args: argparse.Namespace, workdir: Path) -> tuple[list[ServerRun], list[str], str, str]:
    size = args.size_mb * MiB
    env, token, video_path, stored, what = prepare(workdir, size)
    size = stored.stat().st_size
    notes: list[str] = []
    wanted = args.servers
    nginx = nginx_binary()
    if "nginx" in wanted and nginx is None:
        notes.append("nginx: skipped, no nginx binary (apt-get install nginx-light)")
    if "starlette" in wanted and importlib.util.find_spec("starlette") is None:
        notes.append("starlette: skipped, Starlette is not installed (pip install -e '.[bench]')")
    wrk = shutil.which("wrk")
    if args.quick:
        notes.append("wrk columns: left out by --quick (a wrk run lasts whole seconds)")
        wrk = None
    elif wrk is None:
        notes.append("wrk columns: left out, wrk is not installed (apt-get install wrk)")
    script = workdir / "workload.lua"
    script.write_text(LUA_SCRIPT)
    peer_env = {**os.environ, PEER_FILE_ENV: str(stored)}
    starlette = "starlette" in wanted and not any(n.startswith("starlette:") for n in notes)
    plan: list[tuple[str, Callable[[], contextlib.AbstractContextManager[Running]], str]] = []
    if "nginx" in wanted and nginx is not None:
        plan.append(
            (
                "nginx",
                lambda: nginx_server(nginx, stored, workdir / "nginx", args.nginx_tcp_nopush),
                f"/{stored.name}",
            )
        )
    if "accel" in wanted and (nginx is None or shutil.which("envsubst") is None):
        notes.append(
            f"{ACCEL}: skipped, needs nginx and envsubst (apt-get install nginx-light gettext-base)"
        )
    if "reelvault" in wanted:
        plan.append(
            (
                "reelvault",
                lambda: uvicorn_server(
                    "reelvault.app:create_app", env, workdir / "app.log", (video_path, auth)
                ),
                video_path,
            )
        )
    if "accel" in wanted and nginx is not None and shutil.which("envsubst") is not None:
        notes.append(
            f"{ACCEL}: our nginx.conf's `worker_processes auto` gives Nginx {os.cpu_count()}"
            " workers here, the static nginx peer has 1; its CPU s include the app's"
        )
        plan.append(
            (
                ACCEL,
                lambda: accel_server(nginx, env, workdir, video_path, token),
                video_path,
            )
        )
    s3_env: dict[str, str] = {}  # filled once the store is up, before the first s3 row
    auth = {"Authorization": f"Bearer {token}"}
    if "s3-direct" in wanted:
        plan.append(
            (
                S3_DIRECT,
                lambda: uvicorn_server(
                    "reelvault.app:create_app",
                    {**env, **s3_env, "REELVAULT_MEDIA_DELIVERY": "direct"},
                    workdir / "s3-direct.log",
                    (video_path, auth),
                ),
                video_path,
            )
        )
    if "s3-redirect" in wanted:
        plan.append(
            (
                S3_REDIRECT,
                lambda: uvicorn_server(
                    "reelvault.app:create_app",
                    {**env, **s3_env, "REELVAULT_MEDIA_DELIVERY": "redirect"},
                    workdir / "s3-redirect.log",
                    None,  # its video answer is a 302: ready when /health/ready says so
                ),
                video_path,
            )
        )
        notes.append(
            f"{S3_REDIRECT}: each request is the app's 302 and then the store's answer to the"
            " presigned URL (a new connection to the store each time, as moto closes them);"
            " no wrk columns (wrk does not follow redirects); several ranges are the app's own"
        )
    if "s3-accel" in wanted and nginx is not None and shutil.which("envsubst") is not None:
        cache = "on" if args.nginx_s3_cache else "off"
        plan.append(
            (
                S3_ACCEL,
                lambda: accel_server(
                    nginx,
                    {**env, **s3_env},
                    workdir,
                    video_path,
                    token,
                    render={"REELVAULT_NGINX_S3_CACHE": cache},
                    name="nginx-s3-accel",
                ),
                video_path,
            )
        )
        notes.append(f"{S3_ACCEL}: Nginx's slice cache {cache} (--nginx-s3-cache)")
    if any(name in wanted for name in ("s3-direct", "s3-redirect", "s3-accel")):
        notes.append(
            "s3 rows: the store is moto_server, one Python (Werkzeug) process, which answers"
            " every GET on a new connection; its CPU and RSS are not in the rows. They measure"
            " our path with a slow store: real stores (MinIO, S3) serve faster"
        )
    if starlette:
        plan.append(
            (
                "starlette",
                lambda: uvicorn_server(
                    "bench.streaming_peers:starlette_app",
                    peer_env,
                    workdir / "starlette.log",
                    (PEER_ROUTE, {}),
                ),
                PEER_ROUTE,
            )
        )
    if "litestar" in wanted:
        plan.append(
            (
                "litestar File",
                lambda: uvicorn_server(
                    "bench.streaming_peers:litestar_app",
                    peer_env,
                    workdir / "litestar.log",
                    (PEER_ROUTE, {}),
                ),
                PEER_ROUTE,
            )
        )
    runs: list[ServerRun] = []
    loop_factory = None
    with contextlib.suppress(ImportError):
        import uvloop

        loop_factory = uvloop.new_event_loop
    load = load_average()
    with (
        stored.open("rb") as handle,
        mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data,
        asyncio.Runner(loop_factory=loop_factory) as runner,
        contextlib.ExitStack() as stack,
    ):
        if any(name in (S3_DIRECT, S3_REDIRECT, S3_ACCEL) for name, _, _ in plan):
            log("s3 rows: starting moto_server and putting the library into its bucket")
            s3_env.update(stack.enter_context(s3_store(workdir, Settings.from_env(env).media_root)))
        ctx = Context(
            args, stored, size, token, Checker(data, random.Random(7)), wrk, script, runner
        )
        for seed, (name, start, path) in enumerate(plan, start=1):
            log(f"{name}: starting")
            with start() as running:
                follow = name == S3_REDIRECT
                runs.append(measure_server(ctx, name, running, path, seed, follow))
    load += f" -> {load_average()}"
    return runs, notes, what, load


# --- the report ------------------------------------------------------------------------------
def fmt_ms(seconds: float) -> str:
    if math.isnan(seconds):
        return "-"
    ms = seconds * 1000
    return f"{ms:.2f}" if ms < 10 else f"{ms:.1f}" if ms < 100 else f"{ms:,.0f}"


def fmt_rate(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def answer(stats: PhaseStats) -> str:
    total = sum(stats.verdicts.values())
    if stats.verdicts[BAD] == 0 and stats.verdicts[IGNORED] == total and total:
        # A range workload answered with the whole file: not comparable, say by how much.
        ratio = stats.body_bytes / stats.asked_bytes if stats.asked_bytes else math.nan
        return f"200 n/a: x{ratio:,.0f} bytes"
    if stats.verdicts[BAD] == 0 and len(stats.statuses) == 1:
        return str(next(iter(stats.statuses)))
    return " ".join(f"{status}x{count}" for status, count in sorted(stats.statuses.items()))


# The ratios the project targets: (server, workload index in workloads(), measure, peer,
# minimum). Workload indexes: 0 whole file, 1 64 KiB ranges, 2 the big ranges, 3 bytes=0-1.
TARGETS = (
    ("reelvault", 1, "req/s", "starlette", 2.0),
    ("reelvault", 3, "req/s", "starlette", 2.0),
    ("reelvault", 2, "MiB/s", "starlette", 1.5),
    ("reelvault", 0, "MiB/s", "litestar File", 1.0),
    ("reelvault", 0, "MiB/s", "nginx", 0.6),
    (ACCEL, 1, "req/s", "reelvault", 0.9),
    (ACCEL, 3, "req/s", "reelvault", 0.9),
    (ACCEL, 0, "MiB/s", "nginx", 0.8),
)


def best(row: Row, measure: str) -> tuple[float, str]:
    """A row's throughput by the better of its two load generators, and which one it was."""
    v = row.verified
    found = [
        (
            v.requests / v.seconds if measure == "req/s" else v.body_bytes / MiB / v.seconds,
            "verified",
        )
    ]
    if row.wrk is not None and row.wrk.seconds:
        w = row.wrk
        body_bytes = w.bytes * v.body_bytes / max(1, v.wire_bytes)
        rate = w.requests / w.seconds if measure == "req/s" else body_bytes / MiB / w.seconds
        found.append((rate, "wrk"))
    return max(found)


def target_lines(runs: list[ServerRun]) -> list[str]:
    by_name = {run.name: run for run in runs}
    lines = []
    for server, index, measure, peer, minimum in TARGETS:
        if server not in by_name:
            continue
        rows = by_name[server].rows
        if index >= len(rows):
            continue
        title = rows[index].workload.title
        label = f"{server}, {title}: {measure} >= {minimum:g}x {peer}"
        if peer not in by_name or index >= len(by_name[peer].rows):
            lines.append(f"  {label:<58} n/a ({peer} not measured)")
            continue
        ours, our_source = best(rows[index], measure)
        theirs, their_source = best(by_name[peer].rows[index], measure)
        ratio = ours / theirs if theirs else math.nan
        mark = "pass" if ratio >= minimum else "miss"
        lines.append(
            f"  {label:<58} {fmt_rate(ours)} ({our_source}) / {fmt_rate(theirs)}"
            f" ({their_source}) = {ratio:.2f}x  {mark}"
        )
    return lines


def report(
    runs: list[ServerRun], notes: list[str], what: str, load: str, args: argparse.Namespace
) -> bool:
    with_wrk = any(row.wrk is not None for run in runs for row in run.rows)
    header = ["workload", "server", "answer", "verified", "req/s", "MiB/s", "p50 ms", "p99 ms"]
    if with_wrk:
        header += ["wrk req/s", "wrk MiB/s", "wrk p50", "wrk p99"]
    header += ["CPU s", "CPU ms/req", "peak RSS MiB"]
    table = [tuple(header)]
    problems: list[str] = []
    titles = list(dict.fromkeys(row.workload.title for run in runs for row in run.rows))
    for title in titles:
        for run in runs:
            for row in run.rows:
                if row.workload.title != title:
                    continue
                v = row.verified
                good = v.verdicts[OK] + v.verdicts[IGNORED]
                total = good + v.verdicts[BAD]
                cells = [
                    title,
                    run.name,
                    answer(v),
                    f"{good:,}/{total:,}",
                    fmt_rate(v.requests / v.seconds),
                    fmt_rate(v.body_bytes / MiB / v.seconds),
                    fmt_ms(v.percentile(50)),
                    fmt_ms(v.percentile(99)),
                ]
                problems += [f"{run.name}, {title}: {why}" for why in v.problems]
                if with_wrk:
                    w = row.wrk
                    if w is None:
                        cells += ["-"] * 4
                    else:
                        # wrk counts head bytes too: take the body's share the verified
                        # phase saw on the same workload.
                        body_bytes = w.bytes * v.body_bytes / max(1, v.wire_bytes)
                        mark = "!" if w.problems else ""
                        cells += [
                            fmt_rate(w.requests / w.seconds) + mark,
                            fmt_rate(body_bytes / MiB / w.seconds),
                            fmt_ms(w.p50),
                            fmt_ms(w.p99),
                        ]
                        problems += [f"{run.name}, {title}: {why}" for why in w.problems]
                served = v.requests + args.concurrency + (row.wrk.requests if row.wrk else 0)
                cells += [f"{row.cpu_s:.2f}", f"{1000 * row.cpu_s / served:.2f}", mib(row.peak_rss)]
                table.append(tuple(cells))
    widths = [max(len(row[index]) for row in table) for index in range(len(header))]
    left = {0, 1, 2}

    def line(row: tuple[str, ...]) -> str:
        cells = [
            cell.ljust(width) if index in left else cell.rjust(width)
            for index, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    phase = f"{args.seconds:g} s"
    print()
    print(
        f"Range streaming of one video ({what}) over loopback, {args.concurrency} keep-alive"
        f" connections, {phase} per phase; one server process each ({ACCEL}: the app, one"
        f" process, and Nginx with our nginx.conf's workers); load average {load}."
    )
    print(line(table[0]))
    print(line(tuple("-" * width for width in widths)))
    for row in table[1:]:
        print(line(row))
    print()
    print(
        "answer: the status every reply had; 'n/a: xN' = Range ignored, the whole file sent"
        " (N times the bytes asked). verified: replies whose status, framing, Content-Range and"
        " sampled bytes matched the file, of all replies. req/s .. p99: the verifying asyncio"
        " client."
        + (
            " wrk columns: wrk with the same random requests ('!' = a wrk check failed)."
            if with_wrk
            else ""
        )
        + " CPU s and peak RSS: the server's process tree during the row (both phases);"
        " CPU ms/req: CPU s over every request of the row, warm-up included."
    )
    for run in runs:
        print(
            f"{run.name}: {run.cpu_s:.1f} CPU s in all, RSS {mib(run.idle_rss)} MiB idle,"
            f" {mib(run.peak_rss)} MiB at peak"
        )
    lines = target_lines(runs)
    if lines:
        print("targets (each side's throughput by the better of its verified client and wrk):")
        for target in lines:
            print(target)
    for note in notes:
        print(note)
    for problem in problems:
        print(f"PROBLEM {problem}")
    return not problems


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=50, help="video size in MiB (50)")
    parser.add_argument("--concurrency", type=int, default=8, help="connections (8)")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per phase (5)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a tiny run for CI: 8 MiB, 2 connections, 0.25 s per phase, no wrk",
    )
    parser.add_argument(
        "--nginx-tcp-nopush",
        action="store_true",
        help="nginx with `tcp_nopush on` (as our nginx.conf has): 64 KiB ranges stall ~40 ms",
    )
    parser.add_argument(
        "--nginx-s3-cache",
        action="store_true",
        help="the s3 accel row with Nginx's slice cache on (REELVAULT_NGINX_S3_CACHE=on)",
    )
    parser.add_argument(
        "--servers",
        default=",".join(SERVERS),
        type=lambda raw: [name.strip() for name in raw.split(",") if name.strip()],
        help=f"comma-separated subset of {','.join(SERVERS)}",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.size_mb, args.concurrency, args.seconds = 8, 2, 0.25
    if set(args.servers) - set(SERVERS) or not args.servers:
        parser.error(f"--servers takes a list of {', '.join(SERVERS)}")
    if args.size_mb < 1 or args.concurrency < 1 or args.seconds <= 0:
        parser.error("--size-mb and --concurrency must be at least 1, --seconds positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    log(f"load average {load_average()} on {os.cpu_count()} cores")
    workdir = Path(tempfile.mkdtemp(prefix="reelvault-bench-streaming-"))
    try:
        runs, notes, what, load = run(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if report(runs, notes, what, load, args) else 1


if __name__ == "__main__":
    # A plain `kill` still runs the clean-up: every server stops, the temp dir goes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
