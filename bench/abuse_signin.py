"""What do sign-in attacks cost everyone else? One table, BEFORE and AFTER side by side.

For each source tree (this checkout, and with --before the tree of an older commit, e.g. a
`git worktree add /tmp/before bb3736e`), a fresh make-run-like instance: a temporary data
directory migrated with that tree's `litestar database upgrade`, SQLite, then `uvicorn
reelvault.app:create_app --factory` in a child process (one worker, uvloop, httptools) with
PYTHONPATH pointing at the tree's `src`. Set up through the HTTP API only: an owner registers,
signs in and imports one small real H.264 clip. Then, one after the other:

    bystander   the owner's `HEAD /api/video/{id}` (sequential, one connection) while --burst
                concurrent wrong sign-ins run, each at another unknown e-mail (so no throttle
                applies: this is the password pool's cost); idle latency measured first
    rss         growth of the app process's resident memory (peak over the start, sampled
                every 10 ms) during --rss-burst concurrent correct sign-ins, each of another
                account (registered at set-up), so that the throttle plays no part
    guesses     --guesses wrong passwords at the owner's account, one after another on one
                connection: total time, and how many were 429

The answers of each burst are counted by status (401, 429, 503 are expected; anything else is
printed). Loopback only; small numbers: the machine is shared.

    .venv/bin/python bench/abuse_signin.py --before /tmp/before-h3
    .venv/bin/python bench/abuse_signin.py            # this checkout only
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from endpoints import render_video
from servers import ROOT, app_env, migration, uvicorn_server

PASSWORD = "correct horse battery"


@dataclass
class Result:
    label: str
    idle_head_ms: float = 0.0
    burst_head_p50_ms: float = 0.0
    burst_head_max_ms: float = 0.0
    burst_heads: int = 0
    burst_seconds: float = 0.0
    burst_statuses: Counter[int] = field(default_factory=Counter)
    rss_before_mib: float = 0.0
    rss_growth_mib: float = 0.0
    rss_seconds: float = 0.0
    rss_statuses: Counter[int] = field(default_factory=Counter)
    guesses_seconds: float = 0.0
    guesses_statuses: Counter[int] = field(default_factory=Counter)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def register(base_url: str, count: int) -> list[str]:
    emails = [f"person-{uuid.uuid4().hex[:10]}@example.com" for _ in range(count)]
    with httpx.Client(base_url=base_url, timeout=120) as client:
        for email in emails:
            created = client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
            created.raise_for_status()
    return emails


def set_up_owner(base_url: str, video: Path) -> tuple[str, str, str]:
    email = f"owner-{uuid.uuid4().hex[:10]}@example.com"
    with httpx.Client(base_url=base_url, timeout=120) as client:
        created = client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
        created.raise_for_status()
        login = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        login.raise_for_status()
        token = login.json()["access_token"]
        with video.open("rb") as handle:
            imported = client.post(
                "/api/generations",
                headers={"Authorization": f"Bearer {token}"},
                data={"prompt": "Bench clip: a cyclist at dawn"},
                files={"file": ("clip.mp4", handle, "video/mp4")},
            )
        imported.raise_for_status()
    return email, token, imported.json()["id"]


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> int:
    response = await client.post("/api/auth/login", json={"email": email, "password": password})
    return response.status_code


async def bystander(base_url: str, token: str, video_id: str, burst: int, result: Result) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=burst + 10, max_keepalive_connections=burst + 10)
    async with (
        httpx.AsyncClient(base_url=base_url, headers=headers, timeout=120) as owner,
        httpx.AsyncClient(base_url=base_url, timeout=120, limits=limits) as attackers,
    ):
        idle = []
        for _ in range(20):
            started = time.perf_counter()
            (await owner.head(f"/api/video/{video_id}")).raise_for_status()
            idle.append(time.perf_counter() - started)
        result.idle_head_ms = statistics.median(idle) * 1000
        started_burst = time.perf_counter()
        tasks = [
            asyncio.create_task(
                sign_in(attackers, f"nobody-{n}-{uuid.uuid4().hex}@x.example", "guess-guess")
            )
            for n in range(burst)
        ]
        await asyncio.sleep(0.05)  # the burst is on the wire
        during = []
        while not all(task.done() for task in tasks):
            started = time.perf_counter()
            (await owner.head(f"/api/video/{video_id}")).raise_for_status()
            during.append(time.perf_counter() - started)
        statuses = await asyncio.gather(*tasks)
        result.burst_seconds = time.perf_counter() - started_burst
    result.burst_statuses = Counter(statuses)
    result.burst_heads = len(during)
    result.burst_head_p50_ms = statistics.median(during) * 1000 if during else 0.0
    result.burst_head_max_ms = max(during) * 1000 if during else 0.0


def rss_of(process: psutil.Process) -> int:
    return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)])


async def rss_burst(base_url: str, emails: list[str], pid: int, result: Result) -> None:
    process = psutil.Process(pid)
    start = rss_of(process)
    peak = start
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, rss_of(process))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    limits = httpx.Limits(max_connections=len(emails) + 5, max_keepalive_connections=0)
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base_url, timeout=120, limits=limits) as client:
        statuses = await asyncio.gather(*(sign_in(client, email, PASSWORD) for email in emails))
    result.rss_seconds = time.perf_counter() - started
    await asyncio.sleep(0.2)
    stop.set()
    sampler.join()
    result.rss_before_mib = start / 2**20
    result.rss_growth_mib = (peak - start) / 2**20
    result.rss_statuses = Counter(statuses)


async def guesses(base_url: str, email: str, count: int, result: Result) -> None:
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:
        statuses = [await sign_in(client, email, f"wrong guess {n}") for n in range(count)]
    result.guesses_seconds = time.perf_counter() - started
    result.guesses_statuses = Counter(statuses)


def measure(label: str, tree: Path, args: argparse.Namespace, workdir: Path) -> Result:
    result = Result(label)
    data = workdir / label
    env = app_env(data, log_level="WARNING")
    env["PYTHONPATH"] = os.pathsep.join([str(tree / "src"), env.get("PYTHONPATH", "")]).strip(
        os.pathsep
    )
    video = workdir / "clip.mp4"
    if not video.exists():
        render_video(video)
    log(f"{label}: migrating a fresh SQLite database with {tree}")
    with migration(env):
        pass
    with uvicorn_server("reelvault.app:create_app", env, workdir / f"{label}.log", None) as app:
        email, token, video_id = set_up_owner(app.base_url, video)
        people = register(app.base_url, args.rss_burst)
        log(f"{label}: bystander HEAD during {args.burst} concurrent wrong sign-ins")
        asyncio.run(bystander(app.base_url, token, video_id, args.burst, result))
        log(f"{label}: RSS during {args.rss_burst} concurrent sign-ins")
        asyncio.run(rss_burst(app.base_url, people, app.process.pid, result))
        log(f"{label}: {args.guesses} guesses at one account")
        asyncio.run(guesses(app.base_url, email, args.guesses, result))
    return result


def statuses(counter: Counter[int]) -> str:
    return " ".join(f"{count}x{status}" for status, count in sorted(counter.items()))


def table(results: list[Result], args: argparse.Namespace) -> str:
    rows = [
        ("idle HEAD /api/video p50 ms", lambda r: f"{r.idle_head_ms:.1f}"),
        (
            f"HEAD p50 ms during {args.burst} wrong sign-ins",
            lambda r: f"{r.burst_head_p50_ms:.1f}",
        ),
        (f"HEAD max ms during {args.burst} wrong sign-ins", lambda r: f"{r.burst_head_max_ms:.1f}"),
        ("HEADs answered during the burst", lambda r: str(r.burst_heads)),
        ("burst: seconds until all answered", lambda r: f"{r.burst_seconds:.2f}"),
        ("burst: answers", lambda r: statuses(r.burst_statuses)),
        ("app RSS at rest MiB", lambda r: f"{r.rss_before_mib:.0f}"),
        (
            f"RSS growth MiB, {args.rss_burst} concurrent sign-ins",
            lambda r: f"{r.rss_growth_mib:.0f}",
        ),
        (f"{args.rss_burst} sign-ins: seconds", lambda r: f"{r.rss_seconds:.2f}"),
        (f"{args.rss_burst} sign-ins: answers", lambda r: statuses(r.rss_statuses)),
        (f"{args.guesses} guesses at one account: seconds", lambda r: f"{r.guesses_seconds:.2f}"),
        (f"{args.guesses} guesses: answers", lambda r: statuses(r.guesses_statuses)),
    ]
    width = max(len(name) for name, _ in rows)
    columns = [max(len(r.label), *(len(get(r)) for _, get in rows)) for r in results]
    lines = [
        "  ".join(
            [" " * width, *(r.label.rjust(w) for r, w in zip(results, columns, strict=True))]
        ),
        "  ".join(["-" * width, *("-" * w for w in columns)]),
    ]
    for name, get in rows:
        cells = (get(r).rjust(w) for r, w in zip(results, columns, strict=True))
        lines.append("  ".join([name.ljust(width), *cells]))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="an older source tree to measure first")
    parser.add_argument("--burst", type=int, default=40, help="concurrent wrong sign-ins (40)")
    parser.add_argument("--rss-burst", type=int, default=30, help="concurrent sign-ins (30)")
    parser.add_argument("--guesses", type=int, default=100, help="guesses at one account (100)")
    args = parser.parse_args()
    trees = [("before", args.before.resolve())] if args.before else []
    trees.append(("after", ROOT))
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="reelvault-abuse-") as tmp:
        results = [measure(label, tree, args, Path(tmp)) for label, tree in trees]
    print()
    print(
        f"Sign-in abuse: a fresh app per tree (SQLite, one uvicorn worker, loopback), "
        f"{os.cpu_count()} cores, load average {load[0]:.2f} at the start."
    )
    print(table(results, args))
    print(
        "\nanswers: counts by status. 401 wrong password, 429 throttled (Retry-After), "
        "503 the password pool's queue is full (Retry-After)."
    )


if __name__ == "__main__":
    main()
