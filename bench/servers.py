"""Start an ASGI app in its own uvicorn process for a benchmark, so that the load generator
shares no GIL with it, and wait until it answers."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Running:
    base_url: str
    port: int
    process: subprocess.Popen[bytes]
    tree: list[psutil.Process] = field(default_factory=list)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_ready(running: Running, url: str, headers: dict[str, str], log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        if running.process.poll() is not None or time.monotonic() > deadline:
            tail = log_path.read_text(errors="replace")[-3000:] if log_path.exists() else ""
            raise SystemExit(f"{url} did not come up:\n{tail}")
        # A streamed GET closed unread: Litestar's File would otherwise send the whole file.
        with (
            contextlib.suppress(httpx.HTTPError),
            httpx.stream("GET", url, headers={**headers, "Range": "bytes=0-1"}, timeout=5) as r,
        ):
            if r.status_code in (200, 206):
                break
        time.sleep(0.1)
    parent = psutil.Process(running.process.pid)
    running.tree = [parent, *parent.children(recursive=True)]


@contextlib.contextmanager
def uvicorn_server(
    target: str, env: dict[str, str], log_path: Path, ready: tuple[str, dict[str, str]] | None
) -> Iterator[Running]:
    """An ASGI app in its own uvicorn process (one worker), so it shares no GIL with us."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        target,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    with log_path.open("ab") as server_log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=server_log, stderr=subprocess.STDOUT
        )
        try:
            running = Running(f"http://127.0.0.1:{port}", port, process)
            path, headers = ready or ("/health/ready", {})
            wait_ready(running, running.base_url + path, headers, log_path)
            yield running
        finally:
            stop_process(process)
