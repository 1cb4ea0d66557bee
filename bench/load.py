"""Does reelvault hold 100 people using it at once, without a single wrong byte?

A bounded load test over real HTTP against a running reelvault (the app itself, or Nginx in
front of it): --users simulated people each sign in and then, for --seconds, list, search, page,
open items, fetch thumbnails and read random ranges of their videos (single ranges and
multipart/byteranges), with a short think time between requests; a few of them import a clip
and delete it again. Every range read is checked byte for byte against the video's full
content, fetched once per video while setting up. Any unexpected status, any wrong byte and
any transport error is an error, and the run exits with status 1 if there was one.

It prints one table: per endpoint, the count, p50, p99 and max latency (the whole response,
body included) and the errors; then the throughput, and the resident memory of the app's
processes (those holding the listening socket of --app-port, or --app-pid and its children)
before and after the load.

    .venv/bin/python bench/load.py --base http://127.0.0.1:8000
    .venv/bin/python bench/load.py --base http://127.0.0.1:8080 --app-port 8000   # via Nginx
    .venv/bin/python bench/load.py --small --base ...                              # 10 users, 5 s

Set-up (not measured): --accounts accounts are registered, each imports --videos clips rendered
here with PyAV (9:16, 16:9 and 1:1), and the users share the accounts round-robin.

Scale-out: `--replicas 1,2` starts each deployment itself, one after the other, and runs the
same load through each: N app replicas (`python -m reelvault.server`, real child processes, as
tests/support/replicas.py starts them) on one PostgreSQL database and one bucket of a local S3
server (moto_server), REELVAULT_STORAGE=s3, behind one Nginx rendered from our nginx.conf with
every replica in its upstream (--delivery direct: the replicas stream the bytes from the
bucket; accel: Nginx GETs them from the store, presigned). It prints one table with a column
group per deployment; the RSS is the replicas' together (Nginx and the store left out). On a
2-core machine the load generator, Nginx, PostgreSQL and the store share the cores with the
replicas: the second replica shows what a second process buys there, not what a second
machine would.

    .venv/bin/python bench/load.py --replicas 1,2 --users 40 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import shutil
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from reelvault.demo.clips import render_clip

PASSWORD = "load-test-password"
WORDS = ("sneaker", "coffee", "skyline", "perfume", "headphones", "sunrise")
CLIPS = ((360, 640), (640, 360), (480, 480))  # 9:16, 16:9, 1:1
IMPORT_CHANCE = 0.01  # per action: with 100 users, a few imports and deletions a second


@dataclass(frozen=True)
class Video:
    id: str
    prompt: str
    data: bytes


@dataclass
class Account:
    email: str
    videos: list[Video]


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    messages: list[str] = field(default_factory=list)
    bytes_checked: int = 0

    def error(self, label: str, message: str) -> None:
        self.errors[label] += 1
        if len(self.messages) < 20:
            self.messages.append(f"{label}: {message}")


class Failed(Exception):
    """A response that is not what the contract says."""


class User:
    def __init__(self, client: httpx.AsyncClient, account: Account, stats: Stats, clip: bytes):
        self.client = client
        self.account = account
        self.stats = stats
        self.clip = clip
        self.random = random.Random()

    async def timed(
        self, label: str, method: str, url: str, **kwargs: object
    ) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = await self.client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            self.stats.error(label, f"{type(exc).__name__}: {exc}")
            return None
        self.stats.latencies[label].append(time.perf_counter() - started)
        return response

    async def check(
        self, label: str, method: str, url: str, verify: Callable[[httpx.Response], None], **kwargs
    ) -> None:
        response = await self.timed(label, method, url, **kwargs)
        if response is None:
            return
        try:
            verify(response)
        except (Failed, KeyError, ValueError) as exc:
            self.stats.error(label, f"{response.status_code} {url}: {exc}")

    async def sign_in(self) -> bool:
        response = await self.timed(
            "POST /api/auth/login",
            "POST",
            "/api/auth/login",
            json={"email": self.account.email, "password": PASSWORD},
        )
        if response is None or response.status_code != 200:
            if response is not None:
                self.stats.error("POST /api/auth/login", f"{response.status_code}")
            return False
        self.client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        return True

    async def act(self) -> None:
        roll = self.random.random()
        video = self.random.choice(self.account.videos)
        if roll < IMPORT_CHANCE:
            await self.import_and_delete()
        elif roll < 0.15:
            await self.check("GET /api/generations", "GET", "/api/generations", self.is_listing)
        elif roll < 0.27:
            word = self.random.choice(WORDS)
            await self.check(
                "GET /api/generations?q=",
                "GET",
                "/api/generations",
                lambda r: self.is_search(r, word),
                params={"q": word.upper()},
            )
        elif roll < 0.37:
            offset = self.random.randrange(len(self.account.videos))
            await self.check(
                "GET /api/generations?offset=",
                "GET",
                "/api/generations",
                self.is_listing,
                params={"limit": 3, "offset": offset, "sort": "created_at_asc"},
            )
        elif roll < 0.47:
            await self.check(
                "GET /api/generations/{id}",
                "GET",
                f"/api/generations/{video.id}",
                lambda r: expect(r.status_code == 200 and r.json()["id"] == video.id, "item"),
            )
        elif roll < 0.52:
            await self.check(
                "GET /api/thumbnail/{id}",
                "GET",
                f"/api/thumbnail/{video.id}",
                lambda r: expect(r.status_code == 200 and r.content[:3] == b"\xff\xd8\xff", "jpeg"),
            )
        elif roll < 0.90:
            await self.read_range(video)
        else:
            await self.read_ranges(video)

    def is_listing(self, response: httpx.Response) -> None:
        expect(response.status_code == 200, "status")
        page = response.json()
        expect(page["total"] >= len(self.account.videos), f"total {page['total']}")

    def is_search(self, response: httpx.Response, word: str) -> None:
        expect(response.status_code == 200, "status")
        found = response.json()["generations"]
        expect(all(word in item["prompt"].lower() for item in found), "a result without the term")
        mine = sum(word in v.prompt.lower() for v in self.account.videos)
        expect(response.json()["total"] >= min(mine, 1), "a known match is missing")

    async def read_range(self, video: Video) -> None:
        size = len(video.data)
        kind = self.random.random()
        if kind < 0.2:  # a player's first request
            value, first, last = "bytes=0-", 0, size - 1
        elif kind < 0.3:  # the tail (where a moov-at-end file keeps its index)
            n = self.random.randint(1, size)
            value, first, last = f"bytes=-{n}", size - n, size - 1
        else:
            first = self.random.randrange(size)
            last = min(size - 1, first + self.random.randint(0, 256 * 1024))
            value = f"bytes={first}-{last}"

        def verify(response: httpx.Response) -> None:
            expect(response.status_code == 206, "status")
            expect(
                response.headers.get("content-range") == f"bytes {first}-{last}/{size}",
                f"Content-Range {response.headers.get('content-range')} for {value}",
            )
            expect(response.content == video.data[first : last + 1], f"wrong bytes for {value}")
            self.stats.bytes_checked += len(response.content)

        await self.check(
            "GET /api/video/{id} Range",
            "GET",
            f"/api/video/{video.id}",
            verify,
            headers={"Range": value},
        )

    async def read_ranges(self, video: Video) -> None:
        size = len(video.data)
        half = size // 2
        a = self.random.randrange(0, half - 1000)
        b = self.random.randrange(half, size - 1000)
        spans = [(a, a + self.random.randint(0, 999)), (b, b + self.random.randint(0, 999))]
        value = "bytes=" + ",".join(f"{s}-{e}" for s, e in spans)

        def verify(response: httpx.Response) -> None:
            expect(response.status_code == 206, "status")
            parts = byteranges(response)
            expect([(s, e) for s, e, _ in parts] == spans, f"parts {[(s, e) for s, e, _ in parts]}")
            for start, end, body in parts:
                expect(body == video.data[start : end + 1], f"wrong bytes in part {start}-{end}")
                self.stats.bytes_checked += len(body)

        await self.check(
            "GET /api/video/{id} multipart",
            "GET",
            f"/api/video/{video.id}",
            verify,
            headers={"Range": value},
        )

    async def import_and_delete(self) -> None:
        created = await self.timed(
            "POST /api/generations",
            "POST",
            "/api/generations",
            data={"prompt": f"Load test import {uuid.uuid4().hex[:6]}"},
            files={"file": ("clip.mp4", self.clip, "video/mp4")},
        )
        if created is None:
            return
        if created.status_code != 201:
            self.stats.error("POST /api/generations", f"{created.status_code} {created.text[:200]}")
            return
        generation_id = created.json()["id"]
        await self.check(
            "DELETE /api/generations/{id}",
            "DELETE",
            f"/api/generations/{generation_id}",
            lambda r: expect(r.status_code == 200, "status"),
        )


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise Failed(message)


def byteranges(response: httpx.Response) -> list[tuple[int, int, bytes]]:
    found = re.search(r"multipart/byteranges; boundary=(\S+)", response.headers["content-type"])
    expect(found is not None, f"Content-Type {response.headers['content-type']}")
    assert found is not None
    parts = []
    for chunk in response.content.split(b"--" + found.group(1).encode())[1:-1]:
        head, _, body = chunk.partition(b"\r\n\r\n")
        span = re.search(rb"Content-Range: bytes (\d+)-(\d+)/\d+", head, flags=re.IGNORECASE)
        expect(span is not None and body.endswith(b"\r\n"), "a malformed part")
        assert span is not None
        parts.append((int(span.group(1)), int(span.group(2)), body[:-2]))
    return parts


# --- set-up ------------------------------------------------------------------------------------


def render_clips(workdir: Path) -> tuple[list[bytes], bytes]:
    library = []
    for index, (width, height) in enumerate(CLIPS):
        path = workdir / f"clip-{index}.mp4"
        render_clip(path, width=width, height=height, seconds=3.0, seed=index)
        library.append(path.read_bytes())
    small = workdir / "small.mp4"
    render_clip(small, width=160, height=90, seconds=1.0, seed=99)
    return library, small.read_bytes()


async def set_up_account(
    base: str, run: str, index: int, videos: int, clips: list[bytes]
) -> Account:
    email = f"load-{run}-{index}@example.com"
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        created = await client.post(
            "/api/auth/register", json={"email": email, "password": PASSWORD}
        )
        expect(created.status_code == 201, f"register: {created.status_code} {created.text}")
        login = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        library = []
        for number in range(videos):
            prompt = f"{WORDS[(index + number) % len(WORDS)].title()} ad, take {number}"
            item = await client.post(
                "/api/generations",
                data={"prompt": prompt},
                files={"file": ("clip.mp4", clips[number % len(clips)], "video/mp4")},
            )
            expect(item.status_code == 201, f"import: {item.status_code} {item.text}")
            generation_id = item.json()["id"]
            whole = await client.get(f"/api/video/{generation_id}")
            expect(whole.status_code == 200, f"video: {whole.status_code}")
            expect(len(whole.content) == item.json()["file_size"], "the whole video")
            library.append(Video(generation_id, prompt, whole.content))
    return Account(email, library)


# --- the app's memory ---------------------------------------------------------------------------


def listening_pids(port: int) -> set[int]:
    """The processes holding the listening socket of `port` (uvicorn's workers share it)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as handle:
            for line in list(handle)[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(fields[9])
    pids = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{entry}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"/proc/{entry}/fd/{fd}")
                    if target.startswith("socket:[") and target[8:-1] in inodes:
                        pids.add(int(entry))
                        break
    return pids


def tree(pid: int) -> set[int]:
    found = {pid}
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as handle:
                for child in handle.read().split():
                    found |= tree(int(child))
    return found


def rss_mib(pids: set[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


# --- the run ------------------------------------------------------------------------------------


@dataclass
class Run:
    """One load against one deployment, and what it measured."""

    base: str
    stats: Stats
    elapsed: float
    pids: set[int]
    rss_before: float
    rss_after: float

    @property
    def errors(self) -> int:
        return sum(self.stats.errors.values())


def app_pids(args: argparse.Namespace, base: str) -> set[int]:
    if args.app_pid:
        return set().union(*(tree(pid) for pid in args.app_pid))
    return listening_pids(args.app_port or urlsplit(base).port or 80)


async def run(args: argparse.Namespace, base: str, pids: set[int] | None = None) -> Run:
    """Set up the accounts and their videos, then the load itself: every user for --seconds."""
    base = base.rstrip("/")
    run_id = uuid.uuid4().hex[:8]
    with tempfile.TemporaryDirectory(prefix="reelvault-load-") as workdir:
        clips, small = render_clips(Path(workdir))
    accounts = await asyncio.gather(
        *(set_up_account(base, run_id, i, args.videos, clips) for i in range(args.accounts))
    )
    pids = app_pids(args, base) if pids is None else pids
    rss_before = rss_mib(pids)
    stats = Stats()
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)

    async def simulate(number: int) -> None:
        account = accounts[number % len(accounts)]
        async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
            user = User(client, account, stats, small)
            await asyncio.sleep(user.random.uniform(0, args.think))  # do not all start at once
            if not await user.sign_in():
                return
            # Each user gets its --seconds after signing in, however long the sign-in took.
            deadline = time.monotonic() + args.seconds
            if number < len(accounts):  # at least one import and deletion per account
                await user.import_and_delete()
            while time.monotonic() < deadline:
                await user.act()
                await asyncio.sleep(user.random.uniform(0, args.think))

    started = time.monotonic()
    await asyncio.gather(*(simulate(n) for n in range(args.users)))
    elapsed = time.monotonic() - started
    return Run(base, stats, elapsed, pids, rss_before, rss_mib(pids))


def run_replicas(args: argparse.Namespace) -> list[tuple[str, Run]]:
    """The load through each deployment of --replicas, each started here and stopped after."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.support.postgres import postgres_server
    from tests.support.replicas import replica_set, replica_settings
    from tests.support.s3 import s3_server

    runs = []
    with s3_server() as s3, postgres_server() as server:
        for count in args.replicas:
            workdir = Path(tempfile.mkdtemp(prefix=f"reelvault-load-{count}-"))
            workdir.chmod(0o755)  # Nginx's workers read the gallery's copy in it
            try:
                with server.database(f"reelvault_load_{count}") as name:
                    settings = replica_settings(
                        server.url(name),
                        s3,
                        s3.new_bucket(),
                        workdir,
                        media_delivery=args.delivery,
                        max_uploads_per_user=args.users,
                    )
                    with replica_set(workdir, settings, s3, count=count) as replicas:
                        pids = set().union(
                            *(tree(r.process.pid) for r in replicas.replicas if r.process)
                        )
                        label = f"{count} replica{'s' if count > 1 else ''}"
                        print(f"{label}: {replicas.base_url}", file=sys.stderr)
                        runs.append((label, asyncio.run(run(args, replicas.base_url, pids))))
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
    return runs


def percentile(ordered: list[float], pct: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))]


def latency_cells(times: list[float]) -> str:
    if not times:
        return f"{'-':>8} {'-':>8} {'-':>8}"
    ordered = sorted(times)
    p50, p99, top = percentile(ordered, 50), percentile(ordered, 99), ordered[-1]
    return f"{p50 * 1000:8.1f} {p99 * 1000:8.1f} {top * 1000:8.1f}"


def print_report(args: argparse.Namespace, result: Run) -> None:
    stats = result.stats
    labels = sorted(set(stats.latencies) | set(stats.errors))
    print(
        f"\n{args.users} users for {args.seconds:g} s against {result.base} "
        f"({args.accounts} accounts x {args.videos} videos, "
        f"think time 0-{args.think * 1000:g} ms)\n"
    )
    header = (
        f"{'endpoint':<32} {'count':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>6}"
    )
    print(header)
    print("-" * len(header))
    total = 0
    for label in labels:
        times = stats.latencies.get(label, [])
        total += len(times)
        cells = latency_cells(times)
        print(f"{label:<32} {len(times):>7} {cells} {stats.errors.get(label, 0):>6}")
    print("-" * len(header))
    print(
        f"{'all':<32} {total:>7}   {total / result.elapsed:.0f} req/s, "
        f"{stats.bytes_checked / 2**20:.0f} MiB of ranges checked byte for byte, "
        f"{result.errors} errors"
    )
    where = ",".join(str(p) for p in sorted(result.pids)) or "not found"
    print(
        f"app RSS (pid {where}): {result.rss_before:.0f} MiB before the load, "
        f"{result.rss_after:.0f} MiB after ({result.rss_after - result.rss_before:+.0f} MiB)"
    )
    for message in stats.messages:
        print(f"  error: {message}")


def print_comparison(args: argparse.Namespace, runs: list[tuple[str, Run]]) -> None:
    """One table, a column group (count, p50, p99, errors) per deployment."""
    print(
        f"\n{args.users} users for {args.seconds:g} s through Nginx, storage s3, {args.delivery} "
        "delivery "
        f"({args.accounts} accounts x {args.videos} videos, "
        f"think time 0-{args.think * 1000:g} ms)\n"
    )
    width = 31
    print(f"{'':<32}" + "".join(f" | {name:^{width}}" for name, _ in runs))
    print(
        f"{'endpoint':<32}" + f" | {'count':>7} {'p50 ms':>8} {'p99 ms':>8} {'err':>4}" * len(runs)
    )
    rule = "-" * (32 + (width + 3) * len(runs))
    print(rule)
    labels = sorted(set().union(*(set(r.stats.latencies) | set(r.stats.errors) for _, r in runs)))
    for label in labels:
        cells = []
        for _, result in runs:
            times = sorted(result.stats.latencies.get(label, []))
            p50 = f"{percentile(times, 50) * 1000:8.1f}" if times else f"{'-':>8}"
            p99 = f"{percentile(times, 99) * 1000:8.1f}" if times else f"{'-':>8}"
            errors = result.stats.errors.get(label, 0)
            cells.append(f" | {len(times):>7} {p50} {p99} {errors:>4}")
        print(f"{label:<32}" + "".join(cells))
    print(rule)
    footers = {
        "requests/s": lambda r: f"{sum(map(len, r.stats.latencies.values())) / r.elapsed:.0f}",
        "MiB of ranges checked": lambda r: f"{r.stats.bytes_checked / 2**20:.0f}",
        "errors": lambda r: f"{r.errors}",
        "replicas' RSS after, MiB": lambda r: (
            f"{r.rss_after:.0f} ({r.rss_after - r.rss_before:+.0f})"
        ),
    }
    for name, cell in footers.items():
        print(f"{name:<32}" + "".join(f" | {cell(result):>{width}}" for _, result in runs))
    for name, result in runs:
        for message in result.stats.messages:
            print(f"  error ({name}): {message}")


def replica_counts(value: str) -> list[int]:
    counts = [int(part) for part in value.split(",") if part.strip()]
    if not counts or any(count < 1 or count > 4 for count in counts):
        raise argparse.ArgumentTypeError("a comma-separated list of 1 to 4, e.g. 1,2")
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000", help="the app or Nginx")
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--videos", type=int, default=6, help="per account")
    parser.add_argument("--think", type=float, default=0.2, help="max seconds between requests")
    parser.add_argument("--app-port", type=int, help="the app's port (default: --base's)")
    parser.add_argument(
        "--app-pid",
        type=int,
        action="append",
        help="the app's process (with its children); once per replica",
    )
    parser.add_argument("--small", action="store_true", help="10 users, 5 s, 2 accounts x 2 videos")
    parser.add_argument(
        "--replicas",
        type=replica_counts,
        help="start these deployments of N replicas behind Nginx (e.g. 1,2) instead of --base",
    )
    parser.add_argument(
        "--delivery",
        choices=("direct", "accel"),
        default="direct",
        help="with --replicas: the replicas stream from the bucket, or Nginx does (accel)",
    )
    args = parser.parse_args()
    if args.small:
        args.users, args.seconds, args.accounts, args.videos = 10, 5, 2, 2
    if args.replicas:
        runs = run_replicas(args)
        print_comparison(args, runs)
        return 1 if any(result.errors for _, result in runs) else 0
    result = asyncio.run(run(args, args.base))
    print_report(args, result)
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
