"""Deletions racing each other and racing downloads, on SQLite and PostgreSQL.

Each round plants a completed video (real stored files, in the media directory or the bucket,
its row in the database) and fires the racing requests at once over separate connections."""

from __future__ import annotations

import asyncio
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from tests.conftest import Deployment
from tests.support.factories import Account, generation_row, insert_generations

ROUNDS = 36  # 12 each of 2, 3 and 4 concurrent deletes
STREAMED_BYTES = 6 * 1024 * 1024  # well past the size the app reads in one go: a real stream


@dataclass(frozen=True)
class Planted:
    id: str
    video: str  # stored paths
    thumbnail: str
    content: bytes


async def plant(deployment: Deployment, account: Account, size: int = 64 * 1024) -> Planted:
    generation_id = uuid.uuid4()
    video = f"videos/{generation_id}.mp4"
    thumbnail = f"thumbnails/{generation_id}.jpg"
    content = os.urandom(size)
    deployment.write_stored(video, content)
    deployment.write_stored(thumbnail, b"\xff\xd8\xff" + os.urandom(1024))
    now = datetime.now(UTC)
    row = generation_row(
        account.id,
        id=generation_id,
        status="completed",
        progress=None,
        video_path=video,
        thumbnail_path=thumbnail,
        file_size=size,
        completed_at=now,
    )
    await insert_generations(deployment.engine, [row])
    return Planted(str(generation_id), video, thumbnail, content)


def clients(account: Account, count: int) -> list[httpx.AsyncClient]:
    """One client, so one connection, per racer: nothing serialises them before the app."""
    return [
        httpx.AsyncClient(base_url=str(account.client.base_url), headers=account.auth, timeout=30)
        for _ in range(count)
    ]


async def test_concurrent_deletes_answer_one_200_and_leave_nothing(
    deployment: Deployment, account: Account
) -> None:
    racers = clients(account, 4)
    bad_rounds: list[str] = []
    try:
        for round_number in range(ROUNDS):
            width = 2 + round_number % 3
            item = await plant(deployment, account)
            answers = await asyncio.gather(
                *(racer.delete(f"/api/generations/{item.id}") for racer in racers[:width])
            )
            codes = sorted(answer.status_code for answer in answers)
            left = [p for p in (item.video, item.thumbnail) if deployment.stored(p)]
            row = await account.client.get(f"/api/generations/{item.id}")
            if codes != [200] + [404] * (width - 1) or left or row.status_code != 404:
                bad_rounds.append(f"{width} deletes: {codes}, left on disk {left}, row {row}")
    finally:
        for racer in racers:
            await racer.aclose()
    assert await deployment.settled()
    assert bad_rounds == [], f"{len(bad_rounds)} of {ROUNDS} rounds went wrong: {bad_rounds}"


async def read_whole(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> str:
    """How one download ended: its status, or `truncated` (the connection closed early, or
    fewer bytes than promised)."""
    try:
        async with client.stream("GET", url, headers=headers) as response:
            body = b"".join([chunk async for chunk in response.aiter_raw()])
    except httpx.TransportError as exc:
        return f"truncated ({type(exc).__name__})"
    if response.status_code in (200, 206):
        expected = int(response.headers["content-length"])
        if len(body) != expected:
            return f"truncated ({len(body)} of {expected} bytes)"
        return f"{response.status_code}:{len(body)}"
    return str(response.status_code)


async def test_a_download_racing_a_delete_is_complete_or_404(
    deployment: Deployment, account: Account
) -> None:
    readers = clients(account, 6)
    deleter = clients(account, 1)[0]
    outcomes: list[str] = []
    try:
        for _ in range(8):
            item = await plant(deployment, account, size=STREAMED_BYTES)
            url = f"/api/video/{item.id}"
            ranges = [{}, {"Range": "bytes=0-"}, {"Range": f"bytes=1000-{STREAMED_BYTES - 2}"}]

            async def delete(generation_id: str = item.id) -> None:
                answer = await deleter.delete(f"/api/generations/{generation_id}")
                assert answer.status_code == 200

            results = await asyncio.gather(
                *(
                    read_whole(reader, url, ranges[index % len(ranges)])
                    for index, reader in enumerate(readers)
                ),
                delete(),
            )
            outcomes += [result for result in results if result is not None]
            assert not deployment.stored(item.video) and not deployment.stored(item.thumbnail)
    finally:
        for client in (*readers, deleter):
            await client.aclose()
    full = {f"200:{STREAMED_BYTES}", f"206:{STREAMED_BYTES}", f"206:{STREAMED_BYTES - 1001}"}
    wrong = [outcome for outcome in outcomes if outcome not in full | {"404"}]
    assert wrong == [], f"{len(wrong)} of {len(outcomes)} downloads: {wrong}"
