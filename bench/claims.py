"""Claims per second with 8 concurrent workers, on SQLite and on PostgreSQL (one table).

Each backend gets a fresh database migrated with the real CLI, a worker key made with
`reelvault worker-key create`, and the app in its own uvicorn process. The queue is filled
through the API (JSON requests of one account); then N workers claim until the queue answers
204, each claim a real HTTP call. Every claimed id is checked: none may be handed out twice.

    .venv/bin/python bench/claims.py                 # 2000 jobs, 8 workers, both databases
    .venv/bin/python bench/claims.py --jobs 300 --backends sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

from servers import ROOT, app_env, migration, uvicorn_server

PG_ADMIN = ["-h", "127.0.0.1", "-U", "postgres"]


@contextlib.contextmanager
def database(backend: str, workdir: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir / 'reelvault.db'}"
        return
    name = f"bench_claims_{uuid.uuid4().hex[:8]}"
    subprocess.run(["createdb", *PG_ADMIN, name], check=True)
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        subprocess.run(["dropdb", *PG_ADMIN, "--force", name], check=False)


def worker_key(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "litestar", "reelvault", "worker-key", "create", "bench"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip().splitlines()[-1]


async def fill(base_url: str, jobs: int) -> None:
    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        credentials = {"email": email, "password": "bench password"}
        assert (await client.post("/api/auth/register", json=credentials)).status_code == 201
        token = (await client.post("/api/auth/login", json=credentials)).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        queue = iter(range(jobs))

        async def requester() -> None:
            for n in queue:
                response = await client.post("/api/generations", json={"prompt": f"Clip {n}"})
                assert response.status_code == 201, response.text

        await asyncio.gather(*(requester() for _ in range(8)))


async def claim_all(base_url: str, key: str, workers: int) -> tuple[float, list[float], list[str]]:
    latencies: list[float] = []
    claimed: list[str] = []

    async def worker() -> None:
        async with httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60
        ) as client:
            while True:
                started = time.perf_counter()
                response = await client.post("/api/worker/claim", json={"lease_seconds": 600})
                latencies.append(time.perf_counter() - started)
                if response.status_code == 204:
                    return
                assert response.status_code == 200, response.text
                claimed.append(response.json()["generation_id"])

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return time.perf_counter() - started, latencies, claimed


def run(backend: str, jobs: int, workers: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix=f"bench-claims-{backend}-") as tmp:
        workdir = Path(tmp)
        with database(backend, workdir) as url:
            env = app_env(workdir, database_url=url)
            with migration(env):
                pass
            key = worker_key(env)
            with uvicorn_server("reelvault.app:create_app", env, workdir / "app.log", None) as app:
                asyncio.run(fill(app.base_url, jobs))
                took, latencies, claimed = asyncio.run(claim_all(app.base_url, key, workers))
    ordered = sorted(latencies)
    return {
        "backend": backend,
        "jobs": jobs,
        "workers": workers,
        "claims/s": f"{len(claimed) / took:.0f}",
        "p50 ms": f"{statistics.median(ordered) * 1000:.1f}",
        "p99 ms": f"{ordered[int(len(ordered) * 0.99) - 1] * 1000:.1f}",
        "claimed": len(claimed),
        "duplicates": len(claimed) - len(set(claimed)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    options = parser.parse_args()
    rows = [run(backend, options.jobs, options.workers) for backend in options.backends]
    columns = list(rows[0])
    widths = [max(len(column), *(len(str(row[column])) for row in rows)) for column in columns]
    print("  ".join(column.ljust(width) for column, width in zip(columns, widths, strict=True)))
    for row in rows:
        print("  ".join(str(row[c]).ljust(w) for c, w in zip(columns, widths, strict=True)))


if __name__ == "__main__":
    main()
