"""Do stalled uploads hurt anyone else?

An attacker opens --stalled `POST /api/generations` that announce a 10 MB multipart body, send
its first 100 bytes and then nothing. Meanwhile another account (the bystander) lists its
generations back to back for --seconds, and `/health/ready` is asked once. One table: the
bystander's p50/p99 and statuses, and the readiness answer, directly against the app and
through a real Nginx running the checkout's own nginx.conf (rendered by its
deploy/render-nginx.sh), on SQLite and PostgreSQL.

With --before DIR (another checkout, e.g. `git worktree add /tmp/before bb3736e`), the same
rows run first against that code and its nginx.conf, so BEFORE and AFTER share one run and one
machine. Each variant's app runs in a uvicorn child process (one worker, uvloop, httptools)
from its own `src/`, on a fresh data directory and database, migrated by its own migrations.

The attacker is given room (REELVAULT_MAX_UPLOADS_PER_USER=1000, UPLOAD_IDLE_SECONDS=120), as
an attacker holding many accounts would have: the rows measure what a held upload costs
everyone else, not the per-account cap or the idle cut-off (tests/api/test_upload_abuse.py
covers those). The pools are SQLite 20 + 20 and PostgreSQL 10 + 20: 20 stalled uploads (the
issue's figure) stay under both, 45 exceed both.

    .venv/bin/python bench/abuse_uploads.py --before /tmp/before-h1
    .venv/bin/python bench/abuse_uploads.py --stalled 45 --databases sqlite --seconds 3
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psutil

from servers import ROOT, Running, app_env, free_port, migration, stop_process, uvicorn_server

BOUNDARY = "reelvault-bench-boundary"
ANNOUNCED = 10 * 1024 * 1024
ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
PASSWORD = "correct horse battery"
# Longer than the pools' 30 s checkout timeout: a starved request ends in its 500, not ours.
REQUEST_TIMEOUT = 40.0


def log(message: str) -> None:
    print(f"[abuse_uploads] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Variant:
    name: str
    root: Path  # a checkout: its src/, nginx.conf and deploy/render-nginx.sh are used


@dataclass
class Row:
    variant: str
    database: str
    path: str
    stalled: int
    held: int  # stalled uploads still open (not answered) when the bystander started
    latencies: list[float]
    statuses: Counter[str]
    ready: str


# --- the stack: app in a child process, Nginx in front ------------------------------------------
@contextlib.contextmanager
def database(kind: str, data_dir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{data_dir / 'reelvault.db'}"
        return
    import asyncpg

    name = f"reelvault_abuse_{secrets.token_hex(4)}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(ADMIN_DSN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextlib.contextmanager
def nginx_in_front(variant: Variant, app: Running, workdir: Path, max_upload: int) -> Iterator[str]:
    """The variant's nginx.conf, rendered by its own script, on a free port: yields its URL."""
    binary = "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else "nginx"
    prefix = workdir / "nginx"
    for folder in (prefix / "logs", prefix / "run", prefix / "web"):
        folder.mkdir(parents=True)
    for folder in (workdir, prefix, prefix / "run", prefix / "web"):
        folder.chmod(0o755)  # as root, Nginx's workers are `nobody`
    port = free_port()
    values = {
        "REELVAULT_NGINX_LISTEN": f"127.0.0.1:{port}",
        "REELVAULT_UPSTREAM": f"127.0.0.1:{app.port}",
        "REELVAULT_WEB_ROOT": str(prefix / "web"),
        "REELVAULT_MEDIA_DIR": str(workdir / "data" / "media"),
        "REELVAULT_ACCEL_PREFIX": "/_protected_media/",
        "REELVAULT_MAX_UPLOAD_BYTES": str(max_upload),
        "REELVAULT_NGINX_RUN_DIR": str(prefix / "run"),
        "REELVAULT_NGINX_LOG_DIR": str(prefix / "logs"),
    }
    rendered = subprocess.run(
        ["sh", str(variant.root / "deploy" / "render-nginx.sh"), str(variant.root / "nginx.conf")],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **values},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    conf = prefix / "nginx.conf"
    conf.write_text(rendered)
    command = [binary, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "logs/error.log")]
    checked = subprocess.run([*command, "-t", "-q"], capture_output=True, text=True)
    if checked.returncode != 0:
        raise SystemExit(f"nginx -t refused {variant.name}'s nginx.conf:\n{checked.stderr}")
    process = subprocess.Popen(
        [*command, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base_url}/health/live", timeout=1).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"nginx did not start for {variant.name}")
            time.sleep(0.05)
        yield base_url
    finally:
        stop_process(process)


# --- the attacker and the bystander ---------------------------------------------------------
async def account(base_url: str) -> str:
    email = f"abuse-{secrets.token_hex(6)}@example.com"
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        created = await client.post(
            "/api/auth/register", json={"email": email, "password": PASSWORD}
        )
        created.raise_for_status()
        login = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        login.raise_for_status()
    return login.json()["access_token"]


def body_prefix() -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nStalled\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()[:100]


@contextlib.asynccontextmanager
async def stalled(
    base_url: str, token: str, count: int
) -> AsyncIterator[list[asyncio.StreamReader]]:
    url = urlsplit(base_url)
    writers: list[asyncio.StreamWriter] = []
    readers: list[asyncio.StreamReader] = []
    head = (
        f"POST /api/generations HTTP/1.1\r\nHost: {url.netloc}\r\n"
        f"Authorization: Bearer {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {ANNOUNCED}\r\n\r\n"
    ).encode()
    try:
        for _ in range(count):
            reader, writer = await asyncio.open_connection(url.hostname, url.port)
            writer.write(head + body_prefix())
            await writer.drain()
            readers.append(reader)
            writers.append(writer)
        yield readers
    finally:
        for writer in writers:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def still_open(readers: list[asyncio.StreamReader]) -> int:
    """Uploads the server has neither answered nor closed (nothing to read from them)."""
    held = 0
    for reader in readers:
        try:
            await asyncio.wait_for(reader.read(1), 0.005)
        except TimeoutError:
            held += 1
    return held


async def measure(
    variant: str, database_kind: str, path: str, base_url: str, token: str, bystander: str,
    count: int, seconds: float,
) -> Row:  # fmt: skip
    async with stalled(base_url, token, count) as readers:
        await asyncio.sleep(1.0)  # every handler is waiting for its body now
        held = await still_open(readers)
        latencies: list[float] = []
        statuses: Counter[str] = Counter()
        auth = {"Authorization": f"Bearer {bystander}"}
        async with httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT) as client:

            async def readiness() -> str:
                started = time.perf_counter()
                try:
                    answer = await client.get("/health/ready")
                    outcome = str(answer.status_code)
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                return f"{outcome} in {time.perf_counter() - started:.2f} s"

            ready_task = asyncio.create_task(readiness())
            deadline = time.monotonic() + seconds
            while not latencies or time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    answer = await client.get("/api/generations", headers=auth)
                    statuses[str(answer.status_code)] += 1
                except httpx.HTTPError as exc:
                    statuses[type(exc).__name__] += 1
                latencies.append(time.perf_counter() - started)
            ready = await ready_task
    await asyncio.sleep(1.0)  # the server drops the closed uploads before the next row
    return Row(variant, database_kind, path, count, held, latencies, statuses, ready)


def run_variant(
    variant: Variant, database_kind: str, counts: list[int], seconds: float
) -> list[Row]:
    rows: list[Row] = []
    max_upload = 64 * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="reelvault-abuse-") as tmp:
        workdir = Path(tmp)
        data_dir = workdir / "data"
        data_dir.mkdir()
        with database(database_kind, data_dir) as url:
            env = app_env(
                data_dir,
                database_url=url,
                max_upload_bytes=str(max_upload),
                max_uploads_per_user="1000",
                upload_idle_seconds="120",
                log_level="ERROR",
            )
            env["PYTHONPATH"] = str(variant.root / "src")
            with migration(env):
                pass
            log(f"{variant.name} / {database_kind}: app from {variant.root / 'src'}")
            with (
                uvicorn_server("reelvault.app:create_app", env, workdir / "app.log", None) as app,
                nginx_in_front(variant, app, workdir, max_upload) as nginx_url,
            ):
                attacker, bystander = asyncio.run(_two_accounts(app.base_url))
                rss = psutil.Process(app.process.pid).memory_info().rss
                for path, base_url in (("direct", app.base_url), ("nginx", nginx_url)):
                    for count in counts:
                        log(f"{variant.name} / {database_kind} / {path}: {count} stalled")
                        rows.append(
                            asyncio.run(
                                measure(
                                    variant.name, database_kind, path, base_url, attacker,
                                    bystander, count, seconds,
                                )
                            )
                        )  # fmt: skip
                grown = psutil.Process(app.process.pid).memory_info().rss - rss
                log(f"{variant.name} / {database_kind}: app RSS grew {grown / 2**20:.0f} MiB")
    return rows


async def _two_accounts(base_url: str) -> tuple[str, str]:
    return await account(base_url), await account(base_url)


# --- the table ---------------------------------------------------------------------------------
def percentile(values: list[float], pct: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1]


def table(rows: list[Row]) -> str:
    header = (
        "| code | database | path | stalled | still held | bystander listing p50 | p99 "
        "| listing answers | /health/ready |"
    )
    lines = [header, "|" + "---|" * 9]
    for row in rows:
        answers = ", ".join(f"{status} x{n}" for status, n in sorted(row.statuses.items()))
        lines.append(
            f"| {row.variant} | {row.database} | {row.path} | {row.stalled} | {row.held} "
            f"| {percentile(row.latencies, 50) * 1000:,.1f} ms "
            f"| {percentile(row.latencies, 99) * 1000:,.1f} ms | {answers} | {row.ready} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, help="a checkout of the code before the fix")
    parser.add_argument("--stalled", default="20,45", help="stalled uploads per row (list)")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--seconds", type=float, default=5.0, help="bystander time per row")
    args = parser.parse_args()
    variants = [Variant("AFTER", ROOT)]
    if args.before:
        variants.insert(0, Variant("BEFORE", args.before.resolve()))
    counts = [int(value) for value in args.stalled.split(",")]
    rows: list[Row] = []
    for variant in variants:
        for kind in args.databases.split(","):
            rows += run_variant(variant, kind, counts, args.seconds)
    print(
        f"\nA bystander during stalled uploads ({ANNOUNCED // 2**20} MB announced, 100 bytes "
        f"sent), {args.seconds:g} s per row; `still held`: uploads the server had neither "
        "answered nor closed when the bystander started\n"
    )
    print(table(rows))


if __name__ == "__main__":
    main()
