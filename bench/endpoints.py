"""What do the app's own endpoints cost beside its cheapest one?

One table, one run: requests per second, p50 and p99, and the server's CPU per request of the
app's everyday endpoints, each beside the `/health/live` floor measured in the same run on the
same instance, with the ratios the project targets:

    /api/auth/me                  >= 0.5x the floor
    a thumbnail                   >= 0.5x the floor
    GET /api/generations?limit=20 >= 0.25x the floor (a full page of 20)

The instance is a `make run`-like one, started fresh (unless --base): a temporary data
directory migrated with `litestar database upgrade`, SQLite, then `uvicorn
reelvault.app:create_app --factory` with one worker, uvloop and httptools, the app's INFO
logging (one access line per request, as in production; uvicorn's own access log off, as
deploy/entrypoint.sh has it). Everything is set up through the HTTP API only: a user registers
and logs in, and imports --items videos (a small real H.264 MP4 rendered here with PyAV, posted
as multipart to /api/generations), so the first page of 20 is full; every third prompt names
--word, which the search row looks for.

Rows (every request carries the Bearer token, /health/live's too):

    live       GET  /health/live                      the floor
    me         GET  /api/auth/me
    page       GET  /api/generations?limit=20
    next       GET  /api/generations?limit=20&cursor=<next_cursor of the first page>
               (only if the first page has a non-null `next_cursor`, otherwise n/a)
    search     GET  /api/generations?q=<word>
    thumbnail  GET  <thumbnail_url of an item, exactly as the API gives it>
    head       HEAD /api/video/{id}
    range      GET  /api/video/{id} with Range: bytes=0-1

Each row is first checked once with httpx (status, headers, body: the pre-flight; its body
becomes the row's expected answer), then driven by wrk for --seconds with --concurrency
keep-alive connections on one wrk thread (the machine has 2 cores: one for the server, one for
the client). A wrk Lua `response()` hook compares every answer's status, one header (the
Content-Length of HEAD, the Content-Range of the range) and its whole body with the pre-flight
answer; wrk's own socket errors count too. Any wrong answer fails the run (exit 1) after the
table. Without wrk (`apt-get install wrk`) an httpx client with the same checks drives the rows
instead, and the table says so (its numbers are the client's limit more than the server's).

The server's CPU (user + system, all threads) is read with psutil around each row: CPU ms/req
is that over the row's answers; "loop %" is the share of it spent in the main thread, where the
event loop runs the Python code (the rest is aiosqlite's connection thread, anyio's workers).

--profile PATH runs the app under pyinstrument (`bench/servers.py --profiled`, the same uvicorn
command with two signal handlers) and, after the table, drives --profile-row once more with
the profiler on for exactly that row's duration; the text report (flat self times, then the
call tree) goes to PATH. The profiler samples the main thread only.

    .venv/bin/python bench/endpoints.py
    .venv/bin/python bench/endpoints.py --quick
    .venv/bin/python bench/endpoints.py --profile /tmp/me.txt --profile-row me --rows live,me
    .venv/bin/python bench/endpoints.py --base http://127.0.0.1:8000 --token "$TOKEN"
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from urllib.parse import quote, urlsplit

import av
import httpx
import psutil

from servers import Running, app_env, migration, uvicorn_server

STARTED = time.perf_counter()
PASSWORD = "bench endpoints password"
WORD = "kombucha"
PAGE = 20
ROW_KEYS = ("live", "me", "page", "next", "search", "thumbnail", "head", "range")
TARGETS = (("me", 0.5), ("thumbnail", 0.5), ("page", 0.25))  # row, minimum ratio to the floor
NO_CURSOR = "n/a (no next_cursor)"
REQUEST_TIMEOUT = 30.0


def log(message: str) -> None:
    print(f"[{time.perf_counter() - STARTED:6.1f}s] {message}", file=sys.stderr, flush=True)


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


# --- the library -----------------------------------------------------------------------------
def render_video(path: Path, seconds: float = 2.0) -> None:
    """A small real H.264 MP4 (faststart, 320x180, 24 fps): a diagonal ramp that moves."""
    width, height, fps = 320, 180, 24
    encoder = "libx264" if "libx264" in av.codecs_available else "h264"
    with av.open(str(path), "w", format="mp4", options={"movflags": "faststart"}) as container:
        stream = container.add_stream(encoder, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if encoder == "libx264":
            stream.options = {"preset": "veryfast", "crf": "28"}
        for index in range(round(seconds * fps)):
            frame = av.VideoFrame(width, height, "yuv420p")
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            for number, plane in enumerate(frame.planes):
                rows = plane.buffer_size // plane.line_size
                if number == 0:
                    data = b"".join(
                        bytes(
                            (2 * x + 3 * y + 6 * index) % 220 + 16 for x in range(plane.line_size)
                        )
                        for y in range(rows)
                    )
                else:
                    data = bytes([96 + 64 * (number - 1) + index % 32]) * plane.buffer_size
                plane.update(data)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def prompt(index: int) -> str:
    subject = f"{WORD} can on a wet rock" if index % 3 == 0 else "a cyclist at dawn"
    return f"Bench clip {index:02d}: slow dolly-in on {subject}, golden hour light"


def set_up_library(base_url: str, items: int, video: Path) -> tuple[str, str]:
    """A user registered and logged in through the API, `items` imports; (token, email)."""
    email = f"bench-{uuid.uuid4().hex[:8]}@bench.reelvault.example"
    credentials = {"email": email, "password": PASSWORD}
    with httpx.Client(base_url=base_url, timeout=120) as client:
        client.post("/api/auth/register", json=credentials).raise_for_status()
        login = client.post("/api/auth/login", json=credentials)
        login.raise_for_status()
        token = login.json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        content = video.read_bytes()
        for index in range(items):
            imported = client.post(
                "/api/generations",
                data={"prompt": prompt(index)},
                files={"file": (f"clip-{index:02d}.mp4", content, "video/mp4")},
                headers=auth,
            )
            if imported.status_code != 201:
                raise SystemExit(f"import {index} failed: {imported.status_code} {imported.text}")
    return token, email


# --- the rows and their pre-flight -----------------------------------------------------------
@dataclass
class Row:
    key: str
    title: str
    method: str = "GET"
    path: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200
    body: bytes = b""  # the pre-flight's answer, which every answer must repeat
    check_header: tuple[str, str] | None = None  # (lower-case name, value) every answer has
    skipped: str = ""  # why the row is not measured (n/a)
    problems: list[str] = field(default_factory=list)
    result: Measure | None = None


@dataclass
class Measure:
    client: str  # "wrk" or "asyncio"
    requests: int
    seconds: float
    p50: float  # seconds
    p99: float
    wrong: int
    answers: int
    errors: dict[str, int]
    samples: list[str]
    cpu_s: float = math.nan
    loop_cpu_s: float = math.nan

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


class Preflight:
    """One request per row with httpx, checked by hand; its answer is what wrk must see."""

    def __init__(self, client: httpx.Client, token: str) -> None:
        self.client = client
        self.auth = {"Authorization": f"Bearer {token}"}

    def fetch(self, row: Row) -> httpx.Response:
        response = self.client.request(row.method, row.path, headers={**self.auth, **row.headers})
        if response.status_code != row.status:
            row.problems.append(
                f"pre-flight: {row.method} {row.path} answered {response.status_code},"
                f" want {row.status}: {response.text[:300]}"
            )
        row.body = response.content
        again = self.client.request(row.method, row.path, headers={**self.auth, **row.headers})
        if again.status_code != response.status_code or again.content != response.content:
            row.problems.append("pre-flight: two identical requests got different answers")
        return response

    def json(self, row: Row) -> dict:
        response = self.fetch(row)
        try:
            return response.json()
        except ValueError:
            row.problems.append(f"pre-flight: not JSON: {response.text[:200]!r}")
            return {}


def page_path(limit: int, **query: str) -> str:
    tail = "".join(f"&{name}={quote(value, safe='')}" for name, value in query.items())
    return f"/api/generations?limit={limit}{tail}"


def build_rows(
    client: httpx.Client, token: str, wanted: list[str], word: str | None, expected: Expected
) -> tuple[list[Row], str]:
    """Every row, checked once; returns the rows and the word searched."""
    pre = Preflight(client, token)
    rows: dict[str, Row] = {}

    live = rows["live"] = Row("live", "/health/live (floor)", path="/health/live")
    if pre.json(live) != {"status": "ok"}:
        live.problems.append(f"pre-flight: /health/live said {live.body[:200]!r}")

    me = rows["me"] = Row("me", "/api/auth/me", path="/api/auth/me")
    account = pre.json(me)
    if expected.email and account.get("email") != expected.email:
        me.problems.append(f"pre-flight: /api/auth/me is {account.get('email')!r}")

    page = rows["page"] = Row("page", f"GET /api/generations?limit={PAGE}", path=page_path(PAGE))
    first = pre.json(page)
    items = first.get("generations") or []
    if expected.items is not None:
        want = min(PAGE, expected.items)
        if len(items) != want or first.get("total", expected.items) != expected.items:
            page.problems.append(
                f"pre-flight: page 1 has {len(items)} items of total {first.get('total')},"
                f" want {want} of {expected.items}"
            )
    if len(items) < PAGE:
        page.title += f" ({len(items)} items)"

    cursor = first.get("next_cursor")
    nxt = rows["next"] = Row("next", f"next page (limit={PAGE}&cursor=...)")
    if "next_cursor" not in first or cursor is None:
        nxt.skipped = NO_CURSOR
    else:
        nxt.path = page_path(PAGE, cursor=str(cursor))
        second = pre.json(nxt).get("generations") or []
        overlap = {item["id"] for item in items} & {item["id"] for item in second}
        rest = None if expected.items is None else expected.items - len(items)
        if overlap or (rest is not None and len(second) != min(PAGE, rest)):
            nxt.problems.append(
                f"pre-flight: page 2 has {len(second)} items, {len(overlap)} of them on page 1"
            )
        nxt.title += f" ({len(second)} items)"

    if word is None:
        words = [w for w in (items[0]["prompt"].split() if items else []) if w.isalpha()]
        word = max(words, key=len) if words else "clip"
    search = rows["search"] = Row("search", f"search ?q={word}", path=page_path(PAGE, q=word))
    found = pre.json(search).get("generations") or []
    if any(word.lower() not in item["prompt"].lower() for item in found):
        search.problems.append(f"pre-flight: a search hit does not name {word!r}")
    if expected.hits is not None and len(found) != expected.hits:
        search.problems.append(f"pre-flight: {len(found)} hits for {word!r}, want {expected.hits}")
    search.title += f" ({len(found)} hits)"

    playable = [item for item in items if item.get("video_url") and item.get("file_available")]
    pictured = [item for item in items if item.get("thumbnail_url")]
    thumbnail = rows["thumbnail"] = Row("thumbnail", "thumbnail (thumbnail_url)")
    if pictured:
        thumbnail.path = pictured[0]["thumbnail_url"]
        answer = pre.fetch(thumbnail)
        if not answer.content.startswith(b"\xff\xd8") or not answer.headers.get(
            "content-type", ""
        ).startswith("image/jpeg"):
            thumbnail.problems.append("pre-flight: the thumbnail is not a JPEG")
    else:
        thumbnail.skipped = "n/a (no item has a thumbnail_url)"

    head = rows["head"] = Row("head", "HEAD /api/video/{id}", method="HEAD")
    ranged = rows["range"] = Row(
        "range", "GET /api/video/{id} bytes=0-1", headers={"Range": "bytes=0-1"}, status=206
    )
    if playable:
        video_url = playable[0]["video_url"]
        whole = client.get(video_url, headers=pre.auth)
        size = len(whole.content)
        if whole.status_code != 200 or size != playable[0].get("file_size", size):
            head.problems.append(f"pre-flight: GET {video_url}: {whole.status_code}, {size} bytes")
        head.path = ranged.path = video_url
        answer = pre.fetch(head)
        head.check_header = ("content-length", str(size))
        if answer.headers.get("content-length") != str(size) or answer.content:
            head.problems.append(
                f"pre-flight: HEAD Content-Length {answer.headers.get('content-length')!r},"
                f" want {size}, {len(answer.content)} body bytes"
            )
        answer = pre.fetch(ranged)
        ranged.check_header = ("content-range", f"bytes 0-1/{size}")
        if answer.headers.get("content-range") != ranged.check_header[1] or (
            answer.content != whole.content[:2]
        ):
            ranged.problems.append(
                f"pre-flight: Content-Range {answer.headers.get('content-range')!r},"
                f" body {answer.content!r}, want {ranged.check_header[1]!r}"
            )
        head.title += f" ({size:,} B file)"
    else:
        head.skipped = ranged.skipped = "n/a (no playable item)"
    return [rows[key] for key in ROW_KEYS if key in wanted], word


@dataclass
class Expected:
    """What a library we made ourselves must show; None where we do not know (--base)."""

    email: str | None = None
    items: int | None = None
    hits: int | None = None


# --- wrk -------------------------------------------------------------------------------------
LUA_SCRIPT = """\
-- Written by bench/endpoints.py: one fixed request; every answer checked against the expected.
local method = os.getenv("BENCH_METHOD")
local path = os.getenv("BENCH_PATH")
local status_wanted = tonumber(os.getenv("BENCH_STATUS"))
local header_name = os.getenv("BENCH_HEADER_NAME") or ""
local header_value = os.getenv("BENCH_HEADER_VALUE") or ""
local extra_name = os.getenv("BENCH_EXTRA_NAME") or ""
local extra_value = os.getenv("BENCH_EXTRA_VALUE") or ""
local token = os.getenv("BENCH_TOKEN") or ""
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local handle = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
  expected = handle:read("*a")
  handle:close()
  wrong = 0
  answers = 0
  sample = ""
  local headers = {}
  if token ~= "" then headers["Authorization"] = "Bearer " .. token end
  if extra_name ~= "" then headers[extra_name] = extra_value end
  prepared = wrk.format(method, path, headers)
end

function request()
  return prepared
end

local function header_ok(headers)
  if header_name == "" then return true end
  for name, value in pairs(headers) do
    if string.lower(name) == header_name then return value == header_value end
  end
  return false
end

function response(status, headers, body)
  answers = answers + 1
  body = body or ""
  if status ~= status_wanted or body ~= expected or not header_ok(headers) then
    wrong = wrong + 1
    if sample == "" then
      sample = status .. " " .. #body .. " bytes: " .. string.sub(body, 1, 120)
    end
  end
end

function done(summary, latency, requests)
  local bad, seen, first = 0, 0, ""
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("wrong")
    seen = seen + thread:get("answers")
    if first == "" then first = thread:get("sample") end
  end
  local e = summary.errors
  io.write(string.format("BENCH-RESULT %d %d %d %d %d %d %d %d %.0f %.0f %d %d\\n",
    summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(99), bad, seen))
  io.write("BENCH-SAMPLE " .. string.gsub(first, "[\\r\\n]", " ") .. "\\n")
end
"""


def wrk_measure(
    binary: str, script: Path, workdir: Path, base: str, token: str, row: Row, args: Namespace
) -> Measure:
    body_file = workdir / f"expected-{row.key}.bin"
    body_file.write_bytes(row.body)
    extra_name, extra_value = next(iter(row.headers.items()), ("", ""))
    header_name, header_value = row.check_header or ("", "")
    env = {
        **os.environ,
        "BENCH_METHOD": row.method,
        "BENCH_PATH": row.path,
        "BENCH_STATUS": str(row.status),
        "BENCH_HEADER_NAME": header_name,
        "BENCH_HEADER_VALUE": header_value,
        "BENCH_EXTRA_NAME": extra_name,
        "BENCH_EXTRA_VALUE": extra_value,
        "BENCH_TOKEN": token,
        "BENCH_BODY": str(body_file),
    }
    seconds = int(args.seconds)
    command = [
        binary,
        "-t",
        str(min(args.threads, args.concurrency)),
        "-c",
        str(args.concurrency),
        "-d",
        f"{seconds}s",
        "--timeout",
        f"{int(REQUEST_TIMEOUT)}s",
        "-s",
        str(script),
        base + row.path,
    ]
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=seconds + 3 * REQUEST_TIMEOUT
    )
    lines = done.stdout.splitlines()
    line = next((ln for ln in lines if ln.startswith("BENCH-RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    values = [int(v) for v in line.split()[1:]]
    duration, requests, _, connect, read, write, status, timeout, p50, p99, wrong, seen = values
    sample = next((ln[13:] for ln in lines if ln.startswith("BENCH-SAMPLE ")), "").strip()
    errors = {"connect": connect, "read": read, "write": write, "timeout": timeout}
    errors["non-2xx/3xx"] = status
    return Measure(
        "wrk", requests, duration / 1e6, p50 / 1e6, p99 / 1e6, wrong, seen, errors, [sample]
    )


# --- the asyncio client (HEAD, and every row without wrk) ----------------------------------
class RawClient:
    """One keep-alive HTTP/1.1 connection over asyncio streams (uvloop when installed).

    wrk cannot measure HEAD: its parser waits for the Content-Length bytes a HEAD answer never
    sends. This client knows a HEAD answer ends with its head, so it drives the HEAD row (and
    every row where wrk is missing); it checks what the Lua hook checks.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def exchange(self, request: bytes, head_only: bool) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(request)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *lines = raw[:-4].decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        body = b"" if head_only else await self.reader.readexactly(length)
        if headers.get("connection", "").lower() == "close":
            self.close()
        return int(status_line.split(" ", 2)[1]), headers, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def raw_measure(base: str, token: str, row: Row, args: Namespace) -> Measure:
    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    lines = [f"{row.method} {row.path} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"Authorization: Bearer {token}"] + [f"{k}: {v}" for k, v in row.headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    head_only = row.method == "HEAD"
    name, value = row.check_header or ("", "")
    latencies: list[float] = []
    wrong = 0
    errors: Counter[str] = Counter()
    samples: list[str] = []
    clients = [RawClient(host, port) for _ in range(args.concurrency)]
    for client in clients:  # connected and warm before the clock starts
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            await client.exchange(request, head_only)
    deadline = time.perf_counter() + args.seconds

    async def worker(client: RawClient) -> None:
        nonlocal wrong
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            try:
                status, headers, body = await asyncio.wait_for(
                    client.exchange(request, head_only), REQUEST_TIMEOUT
                )
            except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError) as exc:
                errors[type(exc).__name__] += 1
                client.close()
                continue
            latencies.append(time.perf_counter() - began)
            if status != row.status or body != row.body or (name and headers.get(name) != value):
                wrong += 1
                if not samples:
                    samples.append(f"{status} {len(body)} bytes: {body[:120]!r}")

    began = time.perf_counter()
    await asyncio.gather(*(worker(client) for client in clients))
    took = time.perf_counter() - began
    for client in clients:
        client.close()
    latencies.sort()

    def pct(value: float) -> float:
        if not latencies:
            return math.nan
        return latencies[min(len(latencies) - 1, math.ceil(value / 100 * len(latencies)) - 1)]

    count = len(latencies)
    return Measure("asyncio", count, took, pct(50), pct(99), wrong, count, dict(errors), samples)


def run_raw(base: str, token: str, row: Row, args: Namespace) -> Measure:
    loop_factory = None
    with contextlib.suppress(ImportError):
        import uvloop

        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(raw_measure(base, token, row, args))


# --- the server's CPU ------------------------------------------------------------------------
class Cpu:
    """CPU seconds of the server's process tree, and of its main thread (the event loop)."""

    def __init__(self, pids: list[int]) -> None:
        self.processes = []
        for pid in pids:
            with contextlib.suppress(psutil.Error):
                parent = psutil.Process(pid)
                self.processes += [parent, *parent.children(recursive=True)]

    def read(self) -> tuple[float, float]:
        total = loop = 0.0
        for process in self.processes:
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                total += times.user + times.system
                for thread in process.threads():
                    if thread.id == process.pid:
                        loop += thread.user_time + thread.system_time
        return total, loop

    def __bool__(self) -> bool:
        return bool(self.processes)


def listening_pids(base: str) -> list[int]:
    """The processes holding the listening socket of a local --base, if we may see them."""
    parts = urlsplit(base)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        return []
    port = parts.port or 80
    with contextlib.suppress(psutil.Error):
        found = {
            conn.pid
            for conn in psutil.net_connections(kind="tcp")
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port
        }
        return sorted(pid for pid in found if pid)
    return []


# --- the run ---------------------------------------------------------------------------------
Namespace = argparse.Namespace


@dataclass
class Target:
    base: str
    token: str
    pids: list[int]
    running: Running | None
    expected: Expected


def drive(row: Row, target: Target, workdir: Path, args: Namespace) -> Measure:
    """One row's load: wrk, or the asyncio client for HEAD and where wrk is missing."""
    wrk = shutil.which("wrk")
    if wrk is None or row.method == "HEAD":
        return run_raw(target.base, target.token, row, args)
    script = workdir / "endpoints.lua"
    if not script.exists():
        script.write_text(LUA_SCRIPT)
    return wrk_measure(wrk, script, workdir, target.base, target.token, row, args)


def judge(row: Row, result: Measure, label: str = "") -> None:
    if result.wrong or result.answers < result.requests:
        first = result.samples[0] if result.samples and result.samples[0] else ""
        row.problems.append(
            f"{label}{result.wrong:,} wrong answers of {result.answers:,}"
            + (f", first: {first}" if first else "")
        )
    row.problems += [
        f"{label}{result.client}: {count} {kind} errors"
        for kind, count in result.errors.items()
        if count
    ]
    if result.requests == 0:
        row.problems.append(f"{label}{result.client}: no answers at all")


def measure_rows(target: Target, rows: list[Row], workdir: Path, args: Namespace) -> None:
    cpu = Cpu(target.pids)
    for row in rows:
        if row.skipped or row.problems:
            continue
        before = cpu.read() if cpu else (math.nan, math.nan)
        result = drive(row, target, workdir, args)
        if cpu:
            after = cpu.read()
            result.cpu_s, result.loop_cpu_s = after[0] - before[0], after[1] - before[1]
        row.result = result
        judge(row, result)
        log(
            f"{row.key}: {result.rate:,.0f} req/s ({result.client}), p99 {result.p99 * 1000:.2f} ms"
        )


def profile_row(target: Target, row: Row, workdir: Path, args: Namespace) -> None:
    """The chosen row once more, with the server's profiler on for exactly its duration."""
    assert target.running is not None
    assert target.running.profile is not None
    profiling = target.running.profile
    profiling.start()
    try:
        result = drive(row, target, workdir, args)
    finally:
        text = profiling.stop()
    judge(row, result, "profiled pass: ")
    heading = (
        f"bench/endpoints.py --profile-row {row.key}: {row.method} {row.path}\n"
        f"{result.requests:,} answers ({result.client}) in {result.seconds:.1f} s under the"
        f" profiler: {result.rate:,.0f} req/s, {result.wrong} wrong;"
        f" {args.concurrency} connections\n"
    )
    Path(args.profile).write_text(heading + text)
    log(f"profile of {row.key} written to {args.profile} ({result.rate:,.0f} req/s profiled)")


@contextlib.contextmanager
def own_app(workdir: Path, args: Namespace) -> Iterator[Target]:
    """A fresh make-run-like instance with our library, through the API only."""
    env = app_env(workdir / "reelvault", log_level="INFO")
    video = workdir / "clip.mp4"
    log("migrating a fresh SQLite database (litestar database upgrade), rendering a clip")
    with migration(env):
        render_video(video)
    log(f"starting the app; importing {args.items} clips of {video.stat().st_size:,} bytes")
    with uvicorn_server(
        "reelvault.app:create_app",
        env,
        workdir / "app.log",
        None,
        log_level="info",
        profile=bool(args.profile),
    ) as running:
        token, email = set_up_library(running.base_url, args.items, video)
        hits = sum(1 for index in range(args.items) if WORD in prompt(index))
        yield Target(
            running.base_url,
            token,
            [running.process.pid],
            running,
            Expected(email=email, items=args.items, hits=hits),
        )
        log_lines = (workdir / "app.log").read_text(errors="replace").count("reelvault.access")
        log(f"the app logged {log_lines:,} access lines")


def run(args: Namespace, workdir: Path) -> tuple[list[Row], str, str]:
    wanted = list(dict.fromkeys(["live", *args.rows]))
    load = load_average()
    if args.base:
        pids = [args.app_pid] if args.app_pid else listening_pids(args.base)
        context: contextlib.AbstractContextManager[Target] = contextlib.nullcontext(
            Target(args.base.rstrip("/"), args.token, pids, None, Expected())
        )
        word = args.word
    else:
        context = own_app(workdir, args)
        word = args.word or WORD
    with context as target:
        with httpx.Client(base_url=target.base, timeout=REQUEST_TIMEOUT) as client:
            rows, word = build_rows(client, target.token, wanted, word, target.expected)
        for row in rows:
            what = row.skipped or f"{row.method} {row.path} -> {row.status}"
            log(f"pre-flight {row.key}: {what}" + "".join(f"; {p}" for p in row.problems))
        measure_rows(target, rows, workdir, args)
        if args.profile:
            chosen = next(row for row in rows if row.key == args.profile_row)
            if chosen.skipped or chosen.problems:
                raise SystemExit(f"--profile-row {chosen.key}: {chosen.skipped or chosen.problems}")
            profile_row(target, chosen, workdir, args)
    load += f" -> {load_average()}"
    where = args.base or "a fresh app (SQLite, one uvicorn worker)"
    return rows, where, load


# --- the report ------------------------------------------------------------------------------
def fmt_ms(seconds: float) -> str:
    if math.isnan(seconds):
        return "-"
    ms = seconds * 1000
    return f"{ms:.2f}" if ms < 10 else f"{ms:.1f}" if ms < 100 else f"{ms:,.0f}"


def report(rows: list[Row], where: str, load: str, args: Namespace) -> bool:
    floor = next((row.result for row in rows if row.key == "live" and row.result), None)
    header = ("row", "answer", "checked", "req/s", "x floor", "p50 ms", "p99 ms", "CPU ms/req")
    header += ("loop %", "body B", "client")
    table = [header]
    for row in rows:
        r = row.result
        if r is None:
            why = row.skipped or "not measured: " + (row.problems[0] if row.problems else "?")
            table.append((row.title, why, *[""] * (len(header) - 2)))
            continue
        ratio = r.rate / floor.rate if floor and floor.rate else math.nan
        cpu_ms = 1000 * r.cpu_s / r.requests if r.requests else math.nan
        loop = 100 * r.loop_cpu_s / r.cpu_s if r.cpu_s else math.nan
        table.append(
            (
                row.title,
                str(row.status) if not row.problems else "WRONG",
                f"{r.answers - r.wrong:,}/{r.answers:,}",
                f"{r.rate:,.0f}",
                f"{ratio:.2f}x",
                fmt_ms(r.p50),
                fmt_ms(r.p99),
                "-" if math.isnan(cpu_ms) else f"{cpu_ms:.3f}",
                "-" if math.isnan(loop) else f"{loop:.0f}",
                f"{len(row.body):,}",
                r.client,
            )
        )
    widths = [max(len(line[index]) for line in table) for index in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        if cells[2:] == ("",) * (len(header) - 2):  # a skipped row: its reason spans the rest
            return f"{cells[0].ljust(widths[0])}  {cells[1]}"
        return "  ".join(
            cell.ljust(width) if index < 3 else cell.rjust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    print()
    print(
        f"The app's endpoints beside its /health/live floor: {where}, {args.concurrency}"
        f" keep-alive connections, {args.seconds:g} s per row; load average {load}."
    )
    print(line(table[0]))
    print(line(tuple("-" * width for width in widths)))
    for cells in table[1:]:
        print(line(cells))
    print()
    print(
        "checked: answers whose status, body (byte for byte the pre-flight's) and checked"
        " header were right, of all answers. x floor: req/s over /health/live's in this run."
        " CPU ms/req: the server's CPU (all threads) over the row's answers; loop %: its main"
        " thread's share. body B: the expected body's size. client: wrk (C, one thread), or"
        " the asyncio client here (HEAD, which wrk cannot read, and every row without wrk)."
    )
    results = {row.key: row for row in rows}
    print("targets (req/s against the floor in this run):")
    for key, minimum in TARGETS:
        row = results.get(key)
        if row is None:
            continue
        if row.result is None or floor is None or not floor.rate:
            print(f"  {row.title:<40} >= {minimum:g}x floor: n/a ({row.skipped or 'not measured'})")
            continue
        ratio = row.result.rate / floor.rate
        mark = "pass" if ratio >= minimum else "miss"
        print(f"  {row.title:<40} >= {minimum:g}x floor: {ratio:.2f}x  {mark}")
    problems = [f"{row.key}: {problem}" for row in rows for problem in row.problems]
    for problem in problems:
        print(f"PROBLEM {problem}")
    return not problems


def parse_args(argv: list[str] | None) -> Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per row (5)")
    parser.add_argument("--concurrency", type=int, default=8, help="connections (8)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    parser.add_argument("--items", type=int, default=24, help="videos imported (24)")
    parser.add_argument("--quick", action="store_true", help="a tiny run: 1 s per row")
    parser.add_argument(
        "--rows",
        default=",".join(ROW_KEYS),
        type=lambda raw: [name.strip() for name in raw.split(",") if name.strip()],
        help=f"comma-separated subset of {','.join(ROW_KEYS)} (live is always measured)",
    )
    parser.add_argument("--word", help=f"the search word (default {WORD!r}, or one from --base)")
    parser.add_argument("--profile", metavar="PATH", help="write a pyinstrument profile here")
    parser.add_argument(
        "--profile-row", default="page", choices=ROW_KEYS, help="the row to profile (page)"
    )
    parser.add_argument("--base", help="an already running app (no set-up): its base URL")
    parser.add_argument("--token", help="with --base: a Bearer token of a user with a library")
    parser.add_argument("--app-pid", type=int, help="with --base: the app's pid, for its CPU")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds = 1.0
    args.seconds = float(max(1, math.ceil(args.seconds)))  # wrk counts whole seconds
    if set(args.rows) - set(ROW_KEYS):
        parser.error(f"--rows takes a list of {', '.join(ROW_KEYS)}")
    if args.base and not args.token:
        parser.error("--base needs --token")
    if args.profile and args.base:
        parser.error("--profile profiles an app started here; it cannot be used with --base")
    if args.profile and args.profile_row not in ["live", *args.rows]:
        parser.error("--profile-row must be one of the --rows")
    if args.seconds <= 0 or args.concurrency < 1 or args.items < 1:
        parser.error("--seconds must be positive, --concurrency and --items at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    log(f"load average {load_average()} on {os.cpu_count()} cores")
    workdir = Path(tempfile.mkdtemp(prefix="reelvault-bench-endpoints-"))
    try:
        rows, where, load = run(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if report(rows, where, load, args) else 1


if __name__ == "__main__":
    # A plain `kill` still runs the clean-up: the server stops, the temp dir goes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
