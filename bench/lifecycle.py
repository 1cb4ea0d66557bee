"""The generation lifecycle's figures in one table, on PostgreSQL and SQLite.

- claims: --jobs pending generations claimed by --workers concurrent workers over HTTP, as
  bench/claims.py measures them (claims per second, claim latency, no job handed out twice);
- events: delivery latency p50/p99 from a worker's heartbeat to --streams open streams of one
  owner (fan-out) and to --streams owners with one stream each (spread), and the app's memory
  per open stream, as bench/events.py measures them.

A heartbeat needs a job under a lease: the generations bench/events.py inserts for its owners
are set pending, claimed through the API with a worker key made by `reelvault worker-key
create`, and each change is one `POST /api/worker/jobs/{id}/heartbeat` that moves the progress
from 0 to 50 (a heartbeat that moves nothing announces nothing). The jobs are claimed before
any stream opens, so the only messages the streams carry are the heartbeats' own.
`--change delete` measures bench/events.py's own change (DELETE of a failed row) instead.

Every part runs the app in its own uvicorn process from this interpreter's `reelvault` (set
PYTHONPATH to measure another checkout's src). The clients share this process with the
latency measurement; on a small machine they are part of what is measured.

    .venv/bin/python bench/lifecycle.py              # 2000 jobs, 8 workers, 1000 streams
    .venv/bin/python bench/lifecycle.py --jobs 300 --streams 100 --changes 5 --databases sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import uuid
from pathlib import Path

import httpx
import uvloop
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine

import claims
import events
from reelvault.generations.models import Generation
from servers import app_env, migration, uvicorn_server

SHAPES = ("fan-out", "spread")
LEASE_SECONDS = 600  # far longer than a run: no lease runs out while it is measured
PROGRESS = 50


def log(message: str) -> None:
    print(f"[lifecycle] {message}", file=sys.stderr, flush=True)


async def set_pending(url: str, generation_ids: list[uuid.UUID]) -> None:
    table = Generation.__table__
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            for start in range(0, len(generation_ids), 500):
                chunk = generation_ids[start : start + 500]
                await connection.execute(
                    update(table).where(table.c.id.in_(chunk)).values(status="pending", error=None)
                )
    finally:
        await engine.dispose()


async def claim_leases(base_url: str, key: str, count: int) -> dict[uuid.UUID, str]:
    """Claim `count` jobs through the API: each generation's lease token."""
    leases: dict[uuid.UUID, str] = {}
    auth = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=auth, timeout=60) as client:
        for _ in range(count):
            answer = await client.post("/api/worker/claim", json={"lease_seconds": LEASE_SECONDS})
            if answer.status_code != 200:
                raise SystemExit(f"claim answered {answer.status_code}: {answer.text}")
            job = answer.json()
            leases[uuid.UUID(job["generation_id"])] = job["lease_token"]
    return leases


def heartbeat_change(key: str, leases: dict[uuid.UUID, str]) -> events.Change:
    async def heartbeat(
        client: httpx.AsyncClient, _owner: events.Owner, gid: uuid.UUID
    ) -> httpx.Response:
        return await client.post(
            f"/api/worker/jobs/{gid}/heartbeat",
            headers={"Authorization": f"Bearer {key}"},
            json={"lease_token": leases[gid], "progress": PROGRESS},
        )

    return heartbeat


async def measure_heartbeats(
    base_url: str, port: int, pid: int, shape: str, people: list[events.Owner], streams: int,
    key: str, jobs: int,
) -> events.Row:  # fmt: skip
    leases = await claim_leases(base_url, key, jobs)
    return await events.measure(
        base_url, port, pid, shape, people, streams, change=heartbeat_change(key, leases)
    )


def event_rows(kind: str, streams: int, changes: int, workdir: Path) -> list[events.Row]:
    """bench/events.py's two shapes on `kind`, each change a heartbeat of a claimed job."""
    rows = []
    data_dir = workdir / f"events-{kind}"
    data_dir.mkdir()
    with events.database(kind, data_dir) as url:
        env = app_env(data_dir, database_url=url)
        with migration(env):
            pass
        key = claims.worker_key(env)
        for shape in SHAPES:
            count = 1 if shape == "fan-out" else streams
            people = asyncio.run(events.owners(url, env["REELVAULT_SECRET_KEY"], count, changes))
            chosen = [gid for _, gid in events.changed(shape, people)]
            asyncio.run(set_pending(url, chosen))
            with uvicorn_server(
                "reelvault.app:create_app", env, data_dir / f"{shape}.log", None
            ) as app:
                row = asyncio.run(
                    measure_heartbeats(
                        app.base_url, app.port, app.process.pid, shape, people, streams, key,
                        len(chosen),
                    )
                )  # fmt: skip
            row.database = kind
            rows.append(row)
            log(f"events / {kind} / {shape}: done")
    return rows


def table(claim_rows: list[dict[str, object]], event_rows: list[events.Row], change: str) -> str:
    answer = "heartbeat" if change == "heartbeat" else "DELETE"
    lines = [
        "| measure | database | size | p50 ms | p99 ms | rate | memory per open stream | checked |",
        "|" + "---|" * 8,
    ]
    for row in claim_rows:
        lines.append(
            f"| claim (POST /api/worker/claim) | {row['backend']} "
            f"| {row['jobs']} jobs, {row['workers']} workers | {row['p50 ms']} | {row['p99 ms']} "
            f"| {row['claims/s']} claims/s | | {row['claimed']} claimed, "
            f"{row['duplicates']} twice |"
        )
    for row in event_rows:
        size = (
            f"{row.streams} streams of one owner"
            if row.shape == "fan-out"
            else f"{row.streams} owners, one stream each"
        )
        lines.append(
            f"| {answer} to subscriber ({row.shape}) | {row.database} "
            f"| {size}, {row.changes} {answer}s | {row.p50_ms:.1f} | {row.p99_ms:.1f} | "
            f"| {row.kib_per_stream:.1f} KiB | delivered {row.delivered}/{row.expected}; "
            f"{answer} answered p50 {row.delete_p50_ms:.1f} ms |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000, help="jobs claimed per database")
    parser.add_argument("--workers", type=int, default=8, help="concurrent claimers")
    parser.add_argument("--streams", type=int, default=1000, help="open streams per shape")
    parser.add_argument("--changes", type=int, default=20, help="changes per owner changed")
    parser.add_argument("--databases", default="postgresql,sqlite")
    parser.add_argument("--change", choices=("heartbeat", "delete"), default="heartbeat")
    parser.add_argument("--parts", default="claims,events", help="claims, events or both")
    options = parser.parse_args()
    uvloop.install()
    started_load = os.getloadavg()[0]
    kinds = options.databases.split(",")
    parts = options.parts.split(",")
    claim_rows: list[dict[str, object]] = []
    rows: list[events.Row] = []
    if "claims" in parts:
        for kind in kinds:
            log(f"claims / {kind}: {options.jobs} jobs, {options.workers} workers")
            claim_rows.append(claims.run(kind, options.jobs, options.workers))
    if "events" in parts:
        with tempfile.TemporaryDirectory(prefix="reelvault-bench-lifecycle-") as workdir:
            for kind in kinds:
                log(f"events / {kind}: {options.streams} streams, {options.change}")
                if options.change == "heartbeat":
                    rows += event_rows(kind, options.streams, options.changes, Path(workdir))
                else:
                    rows += events.run(kind, options.streams, options.changes, Path(workdir))
    print(
        f"\nThe generation lifecycle: {os.cpu_count()} cores, load average {started_load:.2f} "
        f"at the start and {os.getloadavg()[0]:.2f} at the end; each part its own app "
        "(uvicorn, one worker) on a fresh database\n"
    )
    print(table(claim_rows, rows, options.change))


if __name__ == "__main__":
    main()
