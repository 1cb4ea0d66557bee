"""Live events: delivery latency from a change to its subscribers, and memory per open stream.

The app runs in its own uvicorn process (bench/servers.py) on PostgreSQL (events cross
processes through LISTEN/NOTIFY) and on SQLite (in-process fan-out). Two shapes:

- fan-out: one owner with --streams open streams;
- spread: --streams owners with one stream each (accounts and sessions are inserted straight
  into the database and their tokens signed here: a thousand Argon2 sign-ins would take minutes).

A change is `DELETE /api/generations/{id}` of a row inserted beforehand (no file: the cheapest
real change there is; bench/lifecycle.py passes a worker's heartbeat instead, `change=`).
Latency is from just before the DELETE is sent to the moment a subscriber has read its
`deleted` message, over every (change, subscriber) pair; the DELETE's own answer time is shown
beside it. Memory per stream is the app's RSS growth from no stream to
all of them open, divided by their number. The clients share this process with the latency
measurement: on a small machine they are part of what is measured (say so with the numbers).

    .venv/bin/python bench/events.py                      # 1000 streams, both databases
    .venv/bin/python bench/events.py --streams 200 --changes 10 --databases sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psutil
import uvloop
from litestar.security.jwt import Token
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import create_async_engine

from abuse_uploads import database
from reelvault.accounts.models import User, auth_session
from reelvault.generations.models import Generation
from servers import app_env, migration, uvicorn_server

EVENTS = "/api/generations/events"


@dataclass
class Owner:
    id: uuid.UUID
    token: str
    generations: list[uuid.UUID]


async def owners(url: str, secret: str, count: int, changes: int) -> list[Owner]:
    """`count` accounts, each with a live session and `changes` generations to delete."""
    now = datetime.now(UTC)
    made: list[Owner] = []
    users, sessions, rows = [], [], []
    for _ in range(count):
        user_id, session_id = uuid.uuid4(), uuid.uuid4()
        users.append(
            {
                "id": user_id,
                "email": f"bench-{user_id.hex[:16]}@example.com",
                "password_hash": "not-a-hash",
                "created_at": now,
                "updated_at": now,
            }
        )
        sessions.append(
            {
                "id": session_id,
                "user_id": user_id,
                "created_at": now,
                "expires_at": now + timedelta(hours=2),
            }
        )
        generation_ids = [uuid.uuid4() for _ in range(changes)]
        rows += [
            {
                "id": gid,
                "user_id": user_id,
                "prompt": "Bench event",
                "status": "failed",
                "duration": 5,
                "error": "bench",
                "created_at": now,
                "updated_at": now,
            }
            for gid in generation_ids
        ]
        token = Token(
            sub=str(user_id), exp=now + timedelta(hours=2), iat=now, jti=str(session_id)
        ).encode(secret, "HS256")
        made.append(Owner(user_id, token, generation_ids))
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            for table, values in ((User.__table__, users), (auth_session, sessions)):
                for start in range(0, len(values), 500):
                    await connection.execute(insert(table), values[start : start + 500])
            for start in range(0, len(rows), 500):
                await connection.execute(insert(Generation.__table__), rows[start : start + 500])
    finally:
        await engine.dispose()
    return made


class Subscriber:
    """One stream over a raw connection: each `deleted` message's arrival time, by id."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.live = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def run(self, port: int, token: str) -> None:
        reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        self.writer.write(
            f"GET {EVENTS} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n".encode()
        )
        status = await reader.readline()
        if b" 200 " not in status:
            raise SystemExit(f"a stream was refused: {status!r}")
        while line := await reader.readline():
            if line.startswith(b": live"):
                self.live.set()
            elif line.startswith(b"data: {"):  # a deleted's generation_id, a generation's id
                message = json.loads(line[6:])
                self.arrivals[message.get("generation_id") or message["id"]] = time.perf_counter()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.task is not None:
            self.task.cancel()


def rss(pid: int) -> int:
    return psutil.Process(pid).memory_info().rss


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


@dataclass
class Row:
    database: str
    shape: str
    streams: int
    changes: int
    delivered: int
    expected: int
    p50_ms: float
    p99_ms: float
    delete_p50_ms: float
    kib_per_stream: float


# One change of one owner's generation, made over HTTP; its answer is timed and checked.
Change = Callable[[httpx.AsyncClient, Owner, uuid.UUID], Awaitable[httpx.Response]]


async def delete(client: httpx.AsyncClient, owner: Owner, gid: uuid.UUID) -> httpx.Response:
    return await client.delete(
        f"/api/generations/{gid}", headers={"Authorization": f"Bearer {owner.token}"}
    )


def changed(shape: str, people: list[Owner]) -> list[tuple[Owner, uuid.UUID]]:
    """The generations a shape changes, in order."""
    owners_changed = people[:1] if shape == "fan-out" else people
    changes = [(o, g) for o in owners_changed for g in o.generations]
    if shape == "spread":
        changes = changes[: len(people[0].generations) * 5]  # one change each, some owners
    return changes


async def measure(
    base_url: str, port: int, pid: int, shape: str, people: list[Owner], per_owner: int,
    change: Change = delete,
) -> Row:  # fmt: skip
    subscribers: list[tuple[Owner, Subscriber]] = []
    if shape == "fan-out":
        subscribers = [(people[0], Subscriber()) for _ in range(per_owner)]
    else:
        subscribers = [(owner, Subscriber()) for owner in people]
    before = rss(pid)
    for start in range(0, len(subscribers), 100):  # open them in waves: no connect storm
        wave = subscribers[start : start + 100]
        for owner, sub in wave:
            sub.task = asyncio.create_task(sub.run(port, owner.token))
        await asyncio.wait_for(asyncio.gather(*(sub.live.wait() for _, sub in wave)), 60)
    await asyncio.sleep(1)
    opened = rss(pid)
    sent: dict[str, float] = {}
    delete_times: list[float] = []
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        for owner, gid in changed(shape, people):
            started = time.perf_counter()
            sent[str(gid)] = started
            answer = await change(client, owner, gid)
            delete_times.append(time.perf_counter() - started)
            answer.raise_for_status()
            await asyncio.sleep(0.05)
    await asyncio.sleep(2)
    latencies = []
    expected = 0
    by_owner = {o.id: {str(g) for g in o.generations} for o in people}
    for owner, sub in subscribers:
        for gid in by_owner[owner.id] & sent.keys():
            expected += 1
            if gid in sub.arrivals:
                latencies.append(sub.arrivals[gid] - sent[gid])
    for _, sub in subscribers:
        sub.close()
    return Row(
        database="",
        shape=shape,
        streams=len(subscribers),
        changes=len(sent),
        delivered=len(latencies),
        expected=expected,
        p50_ms=percentile(latencies, 50) * 1000 if latencies else float("nan"),
        p99_ms=percentile(latencies, 99) * 1000 if latencies else float("nan"),
        delete_p50_ms=statistics.median(delete_times) * 1000,
        kib_per_stream=(opened - before) / len(subscribers) / 1024,
    )


def run(kind: str, streams: int, changes: int, workdir: Path) -> list[Row]:
    rows = []
    data_dir = workdir / kind
    data_dir.mkdir()
    with database(kind, data_dir) as url:
        env = app_env(data_dir, database_url=url)
        secret = env["REELVAULT_SECRET_KEY"]
        with migration(env):
            pass
        for shape in ("fan-out", "spread"):
            people = asyncio.run(owners(url, secret, 1 if shape == "fan-out" else streams, changes))
            with uvicorn_server(
                "reelvault.app:create_app", env, data_dir / f"{shape}.log", None
            ) as app:
                row = asyncio.run(
                    measure(app.base_url, app.port, app.process.pid, shape, people, streams)
                )
            row.database = kind
            rows.append(row)
            print(f"  {kind} {shape}: done", file=sys.stderr)
    return rows


def table(rows: list[Row]) -> str:
    head = (
        "| database | shape | streams | changes | delivered | p50 ms | p99 ms "
        "| DELETE p50 ms | KiB per stream |\n|---|---|---|---|---|---|---|---|---|"
    )
    lines = [
        f"| {r.database} | {r.shape} | {r.streams} | {r.changes} | {r.delivered}/{r.expected} "
        f"| {r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.delete_p50_ms:.1f} | {r.kib_per_stream:.1f} |"
        for r in rows
    ]
    return "\n".join([head, *lines])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=20, help="changes per shape")
    parser.add_argument("--databases", default="postgresql,sqlite")
    options = parser.parse_args()
    uvloop.install()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="reelvault-bench-events-") as workdir:
        for kind in options.databases.split(","):
            rows += run(kind, options.streams, options.changes, Path(workdir))
    print(table(rows))


if __name__ == "__main__":
    main()
