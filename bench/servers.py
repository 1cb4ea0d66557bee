"""Start an ASGI app in its own uvicorn process for a benchmark, so that the load generator
shares no GIL with it, and wait until it answers.

Also the small settings env and the real migrations the benchmarks start the app from, and a
profiling launcher: `uvicorn_server(..., profile=True)` runs the very same uvicorn command
under `python bench/servers.py --profiled ...`, which installs two signal handlers and then
hands over to uvicorn; `Profiling.start()` (SIGUSR1) starts a pyinstrument profiler in the
server's main thread (the event loop's), `Profiling.stop()` (SIGUSR2) stops it and writes its
text report, so a profile covers exactly the load of one benchmark row and not the start-up.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
PROFILE_ENV = "BENCH_PROFILE_OUTPUT"  # where the profiled server writes its report
PROFILE_INTERVAL = 0.001  # seconds between pyinstrument samples


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def app_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """The small settings env the app starts from; nothing of the caller's REELVAULT_* leaks in.

    Keyword arguments add REELVAULT_<NAME> settings (media_delivery="accel", log_level=...).
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("REELVAULT_")}
    env.update(
        {
            "REELVAULT_DATA_DIR": str(data_dir),
            "REELVAULT_DATABASE_URL": f"sqlite+aiosqlite:///{data_dir / 'reelvault.db'}",
            "REELVAULT_SECRET_KEY": secrets.token_urlsafe(48),
            "REELVAULT_MEDIA_DELIVERY": "direct",
            # A storyboard made in the background mid-run would change the answers a bench
            # checks byte for byte (an item's storyboard_url) and take CPU from the app.
            "REELVAULT_STORYBOARDS": "on-demand",
            "LITESTAR_APP": "reelvault.app:create_app",
        }
    )
    env.update({f"REELVAULT_{name.upper()}": value for name, value in settings.items()})
    return env


@contextlib.contextmanager
def migration(env: dict[str, str]) -> Iterator[None]:
    """The real migrations, applied as an operator applies them (`litestar database upgrade`),
    while the block runs (so that rendering a video can overlap them)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "litestar", "database", "upgrade", "--no-prompt"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        yield
    finally:
        output, _ = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"migration failed:\n{output.decode(errors='replace')}")


@dataclass
class Running:
    base_url: str
    port: int
    process: subprocess.Popen[bytes]
    tree: list[psutil.Process] = field(default_factory=list)
    profile: Profiling | None = None


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


@dataclass
class Profiling:
    """The switch of a server started with `profile=True`."""

    process: subprocess.Popen[bytes]
    output: Path

    def start(self) -> None:
        self.output.unlink(missing_ok=True)
        self.process.send_signal(signal.SIGUSR1)
        time.sleep(0.2)  # the handler runs at the loop's next bytecode; no request is lost

    def stop(self, timeout: float = 120) -> str:
        self.process.send_signal(signal.SIGUSR2)
        deadline = time.monotonic() + timeout
        while not self.output.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the profiled server wrote no profile to {self.output}")
            time.sleep(0.1)
        return self.output.read_text()


@contextlib.contextmanager
def uvicorn_server(
    target: str,
    env: dict[str, str],
    log_path: Path,
    ready: tuple[str, dict[str, str]] | None,
    *,
    log_level: str = "warning",
    profile: bool = False,
) -> Iterator[Running]:
    """An ASGI app in its own uvicorn process (one worker, uvloop and httptools), so it shares
    no GIL with us. `log_level` is uvicorn's own (the app configures its loggers itself);
    uvicorn's access log stays off, as in production (deploy/entrypoint.sh)."""
    port = free_port()
    arguments = [
        "--factory",
        target,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--log-level",
        log_level,
        "--no-access-log",
    ]
    command = [sys.executable, "-m", "uvicorn", *arguments]
    output = log_path.with_name(log_path.stem + ".profile.txt")
    if profile:
        command = [sys.executable, str(Path(__file__).resolve()), "--profiled", *arguments]
        env = {**env, PROFILE_ENV: str(output)}
    with log_path.open("ab") as server_log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=server_log, stderr=subprocess.STDOUT
        )
        try:
            running = Running(f"http://127.0.0.1:{port}", port, process)
            if profile:
                running.profile = Profiling(process, output)
            path, headers = ready or ("/health/ready", {})
            wait_ready(running, running.base_url + path, headers, log_path)
            yield running
        finally:
            stop_process(process)


# --- the profiled server (runs in the server's process) --------------------------------------
def profile_report(session: object, took: float, top: int = 40) -> str:
    """A pyinstrument session as text: self time by package, the heaviest functions by self
    and by inclusive time (every frame, library code included), then pyinstrument's tree."""
    from pyinstrument.renderers import ConsoleRenderer

    root = session.root_frame(trim_stem=False)  # type: ignore[attr-defined]
    self_time: dict[tuple[str, str], float] = {}
    total_time: dict[tuple[str, str], float] = {}
    packages: dict[str, float] = {}

    def walk(frame: object, stack: frozenset[tuple[str, str]]) -> None:
        children = list(frame.children)  # type: ignore[attr-defined]
        own = frame.time - sum(child.time for child in children)  # type: ignore[attr-defined]
        own += sum(child.time for child in children if child.is_synthetic_leaf)
        where = frame.file_path_short or "<built-in>"  # type: ignore[attr-defined]
        owner = frame.class_name  # type: ignore[attr-defined]
        name = f"{owner}.{frame.function}" if owner else frame.function  # type: ignore[attr-defined]
        key = (name, f"{where}:{frame.line_no}")  # type: ignore[attr-defined]
        self_time[key] = self_time.get(key, 0.0) + own
        if key not in stack:  # a recursive call is counted once, by its outermost frame
            total_time[key] = total_time.get(key, 0.0) + frame.time  # type: ignore[attr-defined]
        package = where.split("/", 1)[0] if "/" in where else where
        if key[0] == "Runner.run" or "uvloop" in where:
            package = "(event loop: waiting, or in C)"
        packages[package] = packages.get(package, 0.0) + own
        for child in children:
            if not child.is_synthetic:
                walk(child, stack | {key})

    for child in root.children:
        if not child.is_synthetic:
            walk(child, frozenset())
    sampled = root.time or 1.0

    def table(values: dict, title: str, top: int = top) -> str:
        lines = [f"== {title} =="]
        for name, seconds in sorted(values.items(), key=lambda item: -item[1])[:top]:
            label = "  ".join(name) if isinstance(name, tuple) else name
            lines.append(f"{seconds:8.3f} s {100 * seconds / sampled:5.1f}%  {label}")
        return "\n".join(lines) + "\n"

    tree = ConsoleRenderer(unicode=False, color=False, show_all=False).render(session)
    return (
        f"pyinstrument profile of the server's main thread (the event loop's): {took:.1f} s,"
        f" {sampled:.2f} s sampled, interval {PROFILE_INTERVAL * 1000:g} ms. SQLAlchemy's"
        " greenlets show as roots of their own. Other threads (aiosqlite's) are not sampled.\n\n"
        + table(packages, "self time by package", 15)
        + "\n"
        + table(self_time, f"the {top} heaviest functions by self time")
        + "\n"
        + table(total_time, f"the {top} heaviest functions by inclusive time")
        + "\n== call tree (pyinstrument, library frames grouped) ==\n"
        + tree
    )


def _serve_profiled(arguments: list[str]) -> None:
    """uvicorn with `arguments`, plus SIGUSR1/SIGUSR2 to start/stop a pyinstrument profile.

    The profiler samples the main thread only, where the event loop runs every request's
    Python code; work done in other threads (aiosqlite's connection thread runs the SQLite
    calls, anyio's the file reads) shows as the loop waiting. `async_mode="disabled"`: the
    samples are the thread's stacks as they are, whatever task they belong to.
    """
    import uvicorn.main
    from pyinstrument import Profiler

    output = Path(os.environ[PROFILE_ENV])
    state: dict[str, Any] = {}

    def start(*_: object) -> None:
        if "profiler" not in state:
            profiler = Profiler(interval=PROFILE_INTERVAL, async_mode="disabled")
            profiler.start()
            state["profiler"] = profiler
            state["started"] = time.perf_counter()

    def stop(*_: object) -> None:
        profiler = state.pop("profiler", None)
        if profiler is None:
            return
        session = profiler.stop()
        text = profile_report(session, time.perf_counter() - state.pop("started"))
        draft = output.with_name(output.name + ".draft")
        draft.write_text(text)
        draft.rename(output)

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    sys.argv = ["uvicorn", *arguments]
    uvicorn.main.main()


if __name__ == "__main__":
    if sys.argv[1:2] != ["--profiled"]:
        raise SystemExit("usage: servers.py --profiled <uvicorn arguments>")
    sys.path.remove(str(Path(__file__).resolve().parent))  # as `python -m uvicorn` would see it
    sys.path.insert(0, str(ROOT))
    _serve_profiled(sys.argv[2:])
