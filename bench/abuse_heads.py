"""Does one client with huge request heads hurt anyone else?

Starts the app twice in its own process, side by side in one run: with uvicorn's httptools
protocol as it is (the peer), and with `reelvault.server.BoundedHeadProtocol` (what `make run`
and the image serve). For each: --clients connections each send one request whose header line
is --megabytes long, while a bystander asks `/health/live` every 50 ms. One table: what the
attackers got, the bystander's p50/p99, and the growth of the app's resident memory (peak).

    .venv/bin/python bench/abuse_heads.py              # 20 clients x 8 MB
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil

from servers import ROOT, app_env, free_port, migration, stop_process

SERVERS = {
    "uvicorn httptools (peer)": [
        "-m", "uvicorn", "--factory", "reelvault.app:create_app", "--http", "httptools",
        "--no-access-log", "--log-level", "warning",
    ],
    "reelvault.server (bounded)": ["-m", "reelvault.server"],
}  # fmt: skip


@contextlib.contextmanager
def server(arguments: list[str], env: dict[str, str], log: Path) -> Iterator[tuple[int, int]]:
    port = free_port()
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, *arguments, "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/health/live").status_code == 200:
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit(log.read_text()[-2000:])
            time.sleep(0.1)
        yield port, process.pid
    finally:
        stop_process(process)


async def attack(port: int, megabytes: int) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (megabytes * 2**20)
    try:
        writer.write(head + b"\r\n\r\n")
        await writer.drain()
        status = (await asyncio.wait_for(reader.readline(), 30)).decode().split(" ")[1:2]
        return status[0] if status else "closed"
    except (TimeoutError, ConnectionError, IndexError):
        return "closed"
    finally:
        writer.close()


async def attacks(port: int, clients: int, megabytes: int) -> list[str]:
    return await asyncio.gather(*(attack(port, megabytes) for _ in range(clients)))


async def measure(port: int, pid: int, clients: int, megabytes: int) -> dict[str, object]:
    process = psutil.Process(pid)
    before = process.memory_info().rss
    peak = before
    latencies: list[float] = []
    done = threading.Event()

    def bystander() -> None:  # a thread: the attackers' writes never delay its requests
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            while not done.is_set():
                started = time.perf_counter()
                client.get("/health/live")
                latencies.append((time.perf_counter() - started) * 1000)
                time.sleep(0.05)

    watcher = threading.Thread(target=bystander)
    watcher.start()
    try:
        task = asyncio.create_task(attacks(port, clients, megabytes))
        while not task.done():
            peak = max(peak, process.memory_info().rss)
            await asyncio.sleep(0.02)
        statuses = task.result()
        await asyncio.sleep(0.5)  # and a moment after
    finally:
        done.set()
        watcher.join()
    latencies.sort()
    return {
        "answers": ", ".join(f"{s} x{statuses.count(s)}" for s in sorted(set(statuses))),
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "rss": (peak - before) / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--megabytes", type=int, default=8)
    options = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="reelvault-heads-") as scratch:
        env = app_env(Path(scratch))
        with migration(env):
            pass
        for name, arguments in SERVERS.items():
            with server(arguments, env, Path(scratch) / "server.log") as (port, pid):
                rows.append(
                    (name, asyncio.run(measure(port, pid, options.clients, options.megabytes)))
                )
    print(f"\n{options.clients} clients, one {options.megabytes} MB header line each\n")
    print("| server | attackers got | bystander p50 ms | p99 ms | app RSS growth MiB |")
    print("|---|---|---|---|---|")
    for name, row in rows:
        cells = (row["answers"], f"{row['p50']:.1f}", f"{row['p99']:.1f}", f"{row['rss']:.0f}")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
