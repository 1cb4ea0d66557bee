"""What does a decoder bomb cost the app? The old code and the new, side by side.

For each hostile file (and two at once), a fresh app in its own uvicorn process (SQLite) takes
the import over HTTP; one table: the time to the answer, the statuses, and the growth of the
app process's resident memory (its peak, sampled from /proc/<pid>/status every 10 ms, over
its RSS before the upload). The media children of the new code are not the app: their own
peak is in the last column. The files are generated at run time (tests/support/hostile_media);
the first row, an honest clip, shows what the confinement costs a normal import.

    git worktree add /tmp/before-h2 bb3736e
    .venv/bin/python bench/abuse_media.py --before /tmp/before-h2 [--after <checkout>]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil

from servers import ROOT, app_env, free_port, stop_process

sys.path.insert(0, str(ROOT))
from tests.support import hostile_media  # the corpus is made as the tests make it
from tests.support.media import clip

PASSWORD = "correct horse battery staple"
Maker = Callable[[Path], Path]
BOMBS: dict[str, tuple[Maker, int]] = {
    # Not a bomb: what the confinement costs an honest import (a child's start, PyAV's load).
    "a good clip, 1080x1920 10 s with audio, moov last": (
        lambda _: clip(1080, 1920, 10.0, moov_at_end=True, with_audio=True),
        1,
    ),
    "sample table: 85M samples (5 KB MP4)": (hostile_media.sample_table_bomb, 1),
    "one 16000x16000 RGBA64 PNG frame (2 MB MOV)": (hostile_media.single_png_frame, 1),
    "3e9 seconds (5 KB MP4)": (hostile_media.long_duration, 1),
    "40 tracks": (hostile_media.many_streams, 1),
    "two sample-table bombs at once": (hostile_media.sample_table_bomb, 2),
    "two PNG frames at once": (hostile_media.single_png_frame, 2),
}


@contextlib.contextmanager
def app(checkout: Path, scratch: Path) -> Iterator[tuple[int, int]]:
    """The app of `checkout` (its src, its migrations) on a fresh SQLite database."""
    data = Path(tempfile.mkdtemp(prefix="data-", dir=scratch))
    env = app_env(data)
    env["PYTHONPATH"] = str(checkout / "src")
    subprocess.run(
        [sys.executable, "-m", "litestar", "database", "upgrade", "--no-prompt"],
        cwd=checkout,
        env=env,
        check=True,
        capture_output=True,
    )
    port = free_port()
    log = (data / "server.log").open("wb")
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "--factory", "reelvault.app:create_app"),
            *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
        ],
        cwd=checkout,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60  # as bench/servers.py: a loaded machine starts slowly
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/health/live").status_code == 200:
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit((data / "server.log").read_text()[-2000:])
            time.sleep(0.1)
        yield port, process.pid
    finally:
        stop_process(process)
        log.close()


async def account(base: str, index: int) -> httpx.AsyncClient:
    email = f"bench{index}@example.com"
    async with httpx.AsyncClient(base_url=base, timeout=30) as anonymous:
        await anonymous.post("/api/auth/register", json={"email": email, "password": PASSWORD})
        login = await anonymous.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        token = login.json()["access_token"]
    return httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=600
    )


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


async def attack(port: int, pid: int, path: Path, body: bytes, copies: int) -> dict[str, object]:
    base = f"http://127.0.0.1:{port}"
    clients = [await account(base, index) for index in range(copies)]  # one each: per-user caps
    floor = rss(pid)
    peak = floor
    child_peak = 0
    app_process = psutil.Process(pid)

    async def send(client: httpx.AsyncClient) -> str:
        files = {"file": (path.name, body, "video/mp4")}
        try:
            response = await client.post("/api/generations", data={"prompt": "bench"}, files=files)
        except httpx.HTTPError as exc:
            return type(exc).__name__
        return str(response.status_code)

    started = time.perf_counter()
    task = asyncio.gather(*(send(client) for client in clients))
    while not task.done():
        peak = max(peak, rss(pid))
        for child in app_process.children():
            with contextlib.suppress(psutil.Error, OSError):
                # Only once it runs the media child: just forked, it still shows the app's pages.
                if "reelvault.media.child" in child.cmdline():
                    child_peak = max(child_peak, rss(child.pid))
        await asyncio.sleep(0.01)
    statuses = await task
    elapsed = time.perf_counter() - started
    for client in clients:
        await client.aclose()
    return {
        "statuses": ", ".join(statuses),
        "seconds": elapsed,
        "app_mib": (peak - floor) / 2**20,
        "child_mib": child_peak / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="a checkout of the old code")
    parser.add_argument(
        "--after", type=Path, default=ROOT, help="a checkout of the new code (default: this one)"
    )
    parser.add_argument("--only", help="run only the rows whose name contains this")
    options = parser.parse_args()
    checkouts = {"before": options.before.resolve(), "after": options.after.resolve()}
    rows = []
    with tempfile.TemporaryDirectory(prefix="reelvault-bombs-") as scratch_name:
        scratch = Path(scratch_name)
        for name, (make, copies) in BOMBS.items():
            if options.only and options.only not in name:
                continue
            path = make(Path(tempfile.mkdtemp(dir=scratch)))
            for label, checkout in checkouts.items():
                with app(checkout, scratch) as (port, pid):
                    result = asyncio.run(attack(port, pid, path, path.read_bytes(), copies))
                    rows.append((name, label, result))
                print(f"{name} / {label}: {rows[-1][2]}", file=sys.stderr, flush=True)
    print(f"\n{os.cpu_count()} cores; each row a fresh app (uvicorn, SQLite)\n")
    print("| hostile file | code | answer | seconds | app RSS growth MiB | media child peak MiB |")
    print("|---|---|---|---|---|---|")
    for name, label, row in rows:
        child = f"{row['child_mib']:.0f}" if row["child_mib"] else "(none)"
        cells = (row["statuses"], f"{row['seconds']:.2f}", f"{row['app_mib']:.0f}", child)
        print(f"| {name} | {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
