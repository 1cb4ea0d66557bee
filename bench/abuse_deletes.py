"""Do racing deletes leave a video on disk, and can a delete cut a download short?

For each database, --rounds rounds each import a video and send 2, 3 or 4 concurrent
`DELETE /api/generations/{id}` over separate connections: a round goes wrong where the answers
are not exactly one 200 and 404s, or where the video or thumbnail is still on disk afterwards
(with no row: there for good). Then --downloads rounds each send six downloads (whole file,
open range, inner range) of a 6 MiB video and one delete at once: a download goes wrong where
it ends before its Content-Length (the connection closed mid-body).

With --before DIR (another checkout, e.g. `git worktree add /tmp/before bb3736e`), the same
rows run first against that code, so BEFORE and AFTER share one run and one machine. Each
variant's app runs in a uvicorn child process from its own `src/`, on a fresh data directory
and database, migrated by its own migrations.

    .venv/bin/python bench/abuse_deletes.py --before /tmp/before-h4
    .venv/bin/python bench/abuse_deletes.py --databases sqlite --rounds 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from abuse_uploads import Variant, account, database
from servers import ROOT, app_env, migration, uvicorn_server

sys.path.insert(0, str(ROOT / "src"))
from reelvault.demo.clips import render_clip

STREAMED = 6 * 1024 * 1024


def log(message: str) -> None:
    print(f"[abuse_deletes] {message}", file=sys.stderr, flush=True)


@dataclass
class Row:
    variant: str
    database: str
    rounds: int = 0
    wrong_answers: int = 0
    left_files: int = 0
    downloads: Counter[str] = field(default_factory=Counter)


def clients(base_url: str, token: str, count: int) -> list[httpx.AsyncClient]:
    auth = {"Authorization": f"Bearer {token}"}
    return [httpx.AsyncClient(base_url=base_url, headers=auth, timeout=60) for _ in range(count)]


async def imported(client: httpx.AsyncClient, clip: bytes) -> str:
    answer = await client.post(
        "/api/generations",
        data={"prompt": "Race me"},
        files={"file": ("clip.mp4", clip, "video/mp4")},
    )
    answer.raise_for_status()
    return answer.json()["id"]


async def download(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> str:
    try:
        async with client.stream("GET", url, headers=headers) as answer:
            body = b"".join([chunk async for chunk in answer.aiter_raw()])
    except httpx.TransportError:
        return "truncated"
    if answer.status_code in (200, 206):
        complete = len(body) == int(answer.headers["content-length"])
        return "complete" if complete else "truncated"
    return str(answer.status_code)


async def race(
    row: Row, base_url: str, media: Path, clip: bytes, rounds: int, downloads: int
) -> None:
    token = await account(base_url)
    racers = clients(base_url, token, 7)
    try:
        for number in range(rounds):
            width = 2 + number % 3
            generation_id = await imported(racers[0], clip)
            answers = await asyncio.gather(
                *(racer.delete(f"/api/generations/{generation_id}") for racer in racers[:width])
            )
            codes = sorted(answer.status_code for answer in answers)
            left = [
                path
                for path in (
                    media / "videos" / f"{generation_id}.mp4",
                    media / "thumbnails" / f"{generation_id}.jpg",
                )
                if path.exists()
            ]
            row.rounds += 1
            row.wrong_answers += codes != [200] + [404] * (width - 1)
            row.left_files += bool(left)
            for path in left:  # the next rounds start clean
                path.unlink()
        spans = [{}, {"Range": "bytes=0-"}, {"Range": f"bytes=1000-{STREAMED - 2}"}]
        for _ in range(downloads):
            generation_id = await imported(racers[0], clip)
            # The bytes only need to be many: a stream that takes a while to send.
            (media / "videos" / f"{generation_id}.mp4").write_bytes(os.urandom(STREAMED))
            url = f"/api/video/{generation_id}"
            results = await asyncio.gather(
                *(download(racers[i], url, spans[i % 3]) for i in range(6)),
                racers[6].delete(f"/api/generations/{generation_id}"),
            )
            row.downloads.update(result for result in results if isinstance(result, str))
    finally:
        for client in racers:
            await client.aclose()


def run_variant(
    variant: Variant, database_kind: str, clip: bytes, rounds: int, downloads: int
) -> Row:
    row = Row(variant.name, database_kind)
    with tempfile.TemporaryDirectory(prefix="reelvault-deletes-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        with database(database_kind, data_dir) as url:
            env = app_env(data_dir, database_url=url, log_level="ERROR")
            env["PYTHONPATH"] = str(variant.root / "src")
            with migration(env):
                pass
            log(f"{variant.name} / {database_kind}: app from {variant.root / 'src'}")
            with uvicorn_server(
                "reelvault.app:create_app", env, Path(tmp) / "app.log", None
            ) as app:
                asyncio.run(race(row, app.base_url, data_dir / "media", clip, rounds, downloads))
    return row


def table(rows: list[Row]) -> str:
    lines = [
        "| code | database | delete rounds (2-4 at once) | not exactly one 200 "
        "| left files on disk | downloads racing a delete | cut short | clean 404 | complete |",
        "|" + "---|" * 9,
    ]
    for row in rows:
        total = sum(row.downloads.values())
        lines.append(
            f"| {row.variant} | {row.database} | {row.rounds} | {row.wrong_answers} "
            f"| {row.left_files} | {total} | {row.downloads['truncated']} "
            f"| {row.downloads['404']} | {row.downloads['complete']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, help="a checkout of the code before the fix")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--rounds", type=int, default=30, help="concurrent-delete rounds")
    parser.add_argument("--downloads", type=int, default=8, help="download-vs-delete rounds")
    args = parser.parse_args()
    variants = [Variant("AFTER", ROOT)]
    if args.before:
        variants.insert(0, Variant("BEFORE", args.before.resolve()))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        render_clip(path, width=320, height=180, seconds=1.0, seed=7)
        clip = path.read_bytes()
    rows = [
        run_variant(variant, kind, clip, args.rounds, args.downloads)
        for kind in args.databases.split(",")
        for variant in variants
    ]
    print(table(rows))


if __name__ == "__main__":
    main()
