"""Storyboards (seek previews): made after imports and worker results, by the background pass
and on first need; a WebVTT whose cues cover the video and name tiles inside a real sprite."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from reelvault.generations.models import Generation
from reelvault.generations.storyboards import StoryboardMaker, claim_until
from reelvault.media.jobs import MediaJobs
from reelvault.media.limits import MediaLimits
from reelvault.media.probe import probe
from reelvault.storage.backend import LocalBackend
from reelvault.storage.store import MediaStore
from tests.conftest import Deployment, deployment_of
from tests.support import hostile_media
from tests.support.factories import PASSWORD, Account, generation_row, register_and_login
from tests.support.lifecycle import WorkerClient, create_worker_key, request_generation
from tests.support.media import clip
from tests.support.servers import live_app

MADE_WITHIN = 90.0  # seconds, on a loaded machine: a media child's start and its decoding
CUE = re.compile(
    r"^(\d\d):(\d\d):(\d\d)\.(\d\d\d) --> (\d\d):(\d\d):(\d\d)\.(\d\d\d)\n"
    r"(/api/storyboard/[0-9a-f-]+/sprite\.jpg\?v=[\w-]+)#xywh=(\d+),(\d+),(\d+),(\d+)$"
)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def storyboarded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """A deployment of its own that makes storyboards in the background, as by default."""
    name: str = request.param
    with deployment_of(
        name,
        tmp_path_factory.mktemp(f"storyboards-{name}"),
        request,
        max_upload_bytes=64 * 1024 * 1024,
        storyboards="background",
    ) as deployment:
        yield deployment


@pytest.fixture
async def owner(storyboarded: Deployment) -> AsyncIterator[Account]:
    user = await register_and_login(storyboarded.base_url)
    yield user
    await user.client.aclose()


async def import_clip(account: Account, source: Path, prompt: str = "Seek me") -> dict[str, Any]:
    response = await account.client.post(
        "/api/generations",
        data={"prompt": prompt},
        files={"file": ("clip.mp4", source.read_bytes(), "video/mp4")},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def item_with_storyboard(account: Account, generation_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + MADE_WITHIN
    while True:
        item = (await account.client.get(f"/api/generations/{generation_id}")).json()
        if item["storyboard_url"] is not None:
            return item
        assert time.monotonic() < deadline, "no storyboard was made"
        await asyncio.sleep(0.25)


async def storyboard_column(deployment: Deployment, generation_id: str) -> tuple[Any, Any]:
    async with deployment.engine.connect() as connection:
        row = (
            await connection.execute(
                select(Generation.storyboard_path, Generation.storyboard_layout).where(
                    Generation.id == uuid.UUID(generation_id)
                )
            )
        ).one()
    return row.storyboard_path, row.storyboard_layout


async def settled_layout(deployment: Deployment, generation_id: str) -> str:
    """The storyboard column once the maker is done with the video (made or given up)."""
    deadline = time.monotonic() + MADE_WITHIN
    while True:
        path, layout = await storyboard_column(deployment, generation_id)
        if path or (layout and layout.startswith("{")):
            return layout
        assert time.monotonic() < deadline, f"the storyboard was never settled: {layout!r}"
        await asyncio.sleep(0.25)


def cues(vtt: str) -> list[tuple[int, int, str, tuple[int, int, int, int]]]:
    """(start ms, end ms, sprite URL, xywh) of each cue; asserts the file is well formed."""
    assert vtt.startswith("WEBVTT\n\n"), vtt[:40]
    found = []
    for block in vtt[len("WEBVTT\n\n") :].strip("\n").split("\n\n"):
        match = CUE.match(block)
        assert match, f"malformed cue: {block!r}"
        g = [int(x) if x.isdigit() else x for x in match.groups()]
        start = ((g[0] * 60 + g[1]) * 60 + g[2]) * 1000 + g[3]
        end = ((g[4] * 60 + g[5]) * 60 + g[6]) * 1000 + g[7]
        found.append((start, end, match.group(9), (g[9], g[10], g[11], g[12])))
    return found


def picture_size(jpeg: bytes) -> tuple[int, int]:
    with av.open(io.BytesIO(jpeg)) as container:
        frame = next(container.decode(video=0))
        return frame.width, frame.height


async def test_an_imported_clip_gets_a_storyboard_covering_it(
    storyboarded: Deployment, owner: Account
) -> None:
    source = clip(320, 180, 12.5)
    item = await import_clip(owner, source)
    made = await item_with_storyboard(owner, item["id"])
    version = made["video_url"].split("?v=")[1]
    assert made["storyboard_url"] == f"/api/storyboard/{item['id']}?v={version}"

    answer = await owner.client.get(made["storyboard_url"])
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/vtt")
    found = cues(answer.text)
    # One tile a second, the last one standing for the final half second.
    assert len(found) == 13
    assert found[0][0] == 0
    assert all(a[1] == b[0] for a, b in itertools.pairwise(found)), "gaps or overlaps"
    assert all(end > start for start, end, _, _ in found)
    duration_ms = probe(source).duration_seconds * 1000
    assert abs(found[-1][1] - duration_ms) <= 50, (found[-1], duration_ms)

    sprite_urls = {url for _, _, url, _ in found}
    assert sprite_urls == {f"/api/storyboard/{item['id']}/sprite.jpg?v={version}"}
    sprite = await owner.client.get(sprite_urls.pop())
    assert sprite.status_code == 200
    assert sprite.headers["content-type"] == "image/jpeg"
    width, height = picture_size(sprite.content)
    tiles = {xywh for _, _, _, xywh in found}
    assert len(tiles) == len(found), "two cues name the same tile"
    for x, y, w, h in tiles:
        assert (w, h) == (160, 90)  # 160 px wide, the video's 16:9
        assert x >= 0 and y >= 0, (x, y)
        assert x + w <= width and y + h <= height, (x, y, w, h, width, height)


async def test_a_portrait_clip_has_portrait_tiles(storyboarded: Deployment, owner: Account) -> None:
    item = await import_clip(owner, clip(360, 640, 2.0))
    made = await item_with_storyboard(owner, item["id"])
    found = cues((await owner.client.get(made["storyboard_url"])).text)
    assert len(found) == 2
    assert {xywh[2:] for _, _, _, xywh in found} == {(160, 284)}
    sprite = await owner.client.get(found[0][2])
    assert picture_size(sprite.content) == (320, 284)


async def test_the_sprite_is_cached_by_etag_and_immutable_with_its_version(
    storyboarded: Deployment, owner: Account
) -> None:
    item = await import_clip(owner, clip(320, 180, 3.0))
    made = await item_with_storyboard(owner, item["id"])
    sprite_url = cues((await owner.client.get(made["storyboard_url"])).text)[0][2]

    versioned = await owner.client.get(sprite_url)
    assert versioned.status_code == 200
    assert versioned.headers["cache-control"] == "private, max-age=31536000, immutable"
    etag = versioned.headers["etag"]
    again = await owner.client.get(sprite_url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""

    plain = await owner.client.get(sprite_url.split("?")[0])
    assert plain.status_code == 200
    assert plain.content == versioned.content
    assert "immutable" not in plain.headers["cache-control"]
    stale = await owner.client.get(sprite_url.split("?")[0] + "?v=stale")
    assert stale.status_code == 200
    assert "immutable" not in stale.headers["cache-control"]

    vtt = await owner.client.get(made["storyboard_url"])
    assert "immutable" in vtt.headers["cache-control"]
    revalidated = await owner.client.get(
        made["storyboard_url"], headers={"If-None-Match": vtt.headers["etag"]}
    )
    assert revalidated.status_code == 304
    unversioned = await owner.client.get(f"/api/storyboard/{item['id']}")
    assert unversioned.status_code == 200
    assert unversioned.text == vtt.text
    assert "immutable" not in unversioned.headers["cache-control"]


async def test_owner_rules_are_the_thumbnails(storyboarded: Deployment, owner: Account) -> None:
    item = await import_clip(owner, clip(320, 180, 2.0))
    made = await item_with_storyboard(owner, item["id"])
    sprite_url = f"/api/storyboard/{item['id']}/sprite.jpg"
    stranger = await register_and_login(storyboarded.base_url)
    try:
        for url in (made["storyboard_url"], sprite_url):
            foreign = await stranger.client.get(url)
            thumbnail = await stranger.client.get(made["thumbnail_url"])
            assert foreign.status_code == thumbnail.status_code == 404
            assert foreign.json()["detail"] == "Storyboard not found"
        async with httpx.AsyncClient(base_url=storyboarded.base_url) as anonymous:
            for url in (made["storyboard_url"], sprite_url, made["thumbnail_url"]):
                assert (await anonymous.get(url)).status_code == 401
        for missing in (f"/api/storyboard/{uuid.uuid4()}", "/api/storyboard/not-a-uuid"):
            answer = await owner.client.get(missing)
            assert answer.status_code == 404
            assert (await owner.client.get(missing + "/sprite.jpg")).status_code == 404
    finally:
        await stranger.client.aclose()


async def test_deleting_the_video_removes_its_sprite(
    storyboarded: Deployment, owner: Account
) -> None:
    item = await import_clip(owner, clip(320, 180, 2.0))
    await item_with_storyboard(owner, item["id"])
    sprite_path, _ = await storyboard_column(storyboarded, item["id"])
    assert sprite_path and storyboarded.stored(sprite_path)
    assert (await owner.client.delete(f"/api/generations/{item['id']}")).status_code == 200
    assert not storyboarded.stored(sprite_path)
    assert (await owner.client.get(f"/api/storyboard/{item['id']}")).status_code == 404


async def test_deleting_the_account_removes_every_sprite(storyboarded: Deployment) -> None:
    leaving = await register_and_login(storyboarded.base_url)
    try:
        ids = [(await import_clip(leaving, clip(320, 180, 1.0)))["id"] for _ in range(2)]
        paths = []
        for generation_id in ids:
            await item_with_storyboard(leaving, generation_id)
            paths.append((await storyboard_column(storyboarded, generation_id))[0])
        closed = await leaving.client.request("DELETE", "/api/auth/me", json={"password": PASSWORD})
        assert closed.status_code == 204, closed.text
        assert not any(storyboarded.stored(path) for path in paths)
    finally:
        await leaving.client.aclose()


async def test_a_workers_result_gets_a_storyboard(storyboarded: Deployment) -> None:
    requester = await register_and_login(storyboarded.base_url)
    worker = WorkerClient(storyboarded.base_url, create_worker_key(storyboarded.settings))
    try:
        await worker.drain()
        requested = await request_generation(requester.client, duration=3, aspect_ratio="1:1")
        assert requested["storyboard_url"] is None
        job = (await worker.claim()).json()
        assert job["generation_id"] == requested["id"]
        done = await worker.complete(
            job["generation_id"], job["lease_token"], clip(240, 240, 3.0).read_bytes()
        )
        assert done.status_code == 200, done.text
        made = await item_with_storyboard(requester, requested["id"])
        found = cues((await requester.client.get(made["storyboard_url"])).text)
        assert len(found) == 3
        assert {xywh[2:] for _, _, _, xywh in found} == {(160, 160)}
    finally:
        await worker.aclose()
        await requester.client.aclose()


async def insert_completed(deployment: Deployment, owner: Account, relpath: str) -> str:
    """A completed video as one imported before storyboards existed: a row and its file."""
    row = generation_row(
        owner.id,
        status="completed",
        progress=None,
        video_path=relpath,
        thumbnail_path=None,
        media_version=uuid.uuid4().hex[:12],
        duration=2,
        width=320,
        height=180,
        completed_at=datetime.now(UTC),
    )
    async with deployment.engine.begin() as connection:
        await connection.execute(insert(Generation.__table__).values(**row))
    return str(row["id"])


async def test_the_background_pass_makes_the_missing_ones_and_survives_hostile_videos(
    storyboarded: Deployment, owner: Account, tmp_path: Path
) -> None:
    good = clip(320, 180, 2.0)
    bad_files = {
        "garbage": b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 64,
        "sample table bomb": hostile_media.sample_table_bomb(tmp_path).read_bytes(),
        "text": b"Not a video, whatever its name says.\n" * 100,
    }
    ids = {}
    for name, data in {"good": good.read_bytes(), **bad_files}.items():
        relpath = f"videos/{uuid.uuid4()}.mp4"
        storyboarded.write_stored(relpath, data)
        ids[name] = await insert_completed(storyboarded, owner, relpath)
    missing_file = await insert_completed(storyboarded, owner, f"videos/{uuid.uuid4()}.mp4")

    # A second app process on the same database and media: its pass starts with it.
    with live_app(storyboarded.settings):
        made = await item_with_storyboard(owner, ids["good"])
        for name in bad_files:
            layout = await settled_layout(storyboarded, ids[name])
            assert json.loads(layout).get("failed"), (name, layout)
        assert json.loads(await settled_layout(storyboarded, missing_file)) == {
            "failed": "missing_file"
        }
    assert len(cues((await owner.client.get(made["storyboard_url"])).text)) == 2
    for generation_id in (*[ids[name] for name in bad_files], missing_file):
        item = (await owner.client.get(f"/api/generations/{generation_id}")).json()
        assert item["storyboard_url"] is None
        assert (await owner.client.get(f"/api/storyboard/{generation_id}")).status_code == 404
    # The maker is still at work after them: a new import gets its storyboard.
    fresh = await import_clip(owner, clip(320, 180, 1.0))
    await item_with_storyboard(owner, fresh["id"])


async def test_on_demand_a_storyboard_is_made_when_first_asked_for(
    deployment: Deployment, account: Account
) -> None:
    assert deployment.settings.storyboards == "on-demand"
    item = await import_clip(account, clip(320, 180, 2.0))
    assert item["storyboard_url"] is None
    first = await account.client.get(f"/api/storyboard/{item['id']}")
    assert first.status_code == 404
    made = await item_with_storyboard(account, item["id"])
    answer = await account.client.get(made["storyboard_url"])
    assert answer.status_code == 200
    found = cues(answer.text)
    assert len(found) == 2
    sprite = await account.client.get(found[0][2])
    assert sprite.status_code == 200
    assert picture_size(sprite.content) == (320, 90)
    sprite_path, _ = await storyboard_column(deployment, item["id"])
    assert deployment.stored(sprite_path)
    assert (await account.client.delete(f"/api/generations/{item['id']}")).status_code == 200
    assert not deployment.stored(sprite_path)


def makers(deployment: Deployment, count: int) -> list[StoryboardMaker]:
    """Makers as `count` app processes have them, on the deployment's database and media."""
    sessions = async_sessionmaker(deployment.engine, expire_on_commit=False)
    store = MediaStore(deployment.settings.media_root)
    return [
        StoryboardMaker(sessions, LocalBackend(store), MediaJobs(MediaLimits()), store)
        for _ in range(count)
    ]


async def test_two_processes_never_make_one_storyboard_twice(
    storyboarded: Deployment, owner: Account
) -> None:
    relpath = f"videos/{uuid.uuid4()}.mp4"
    storyboarded.write_stored(relpath, clip(320, 180, 2.0).read_bytes())
    generation_id = await insert_completed(storyboarded, owner, relpath)
    first, second = makers(storyboarded, 2)
    for maker in (first, second):
        maker.work_dir.mkdir(exist_ok=True)

    outcomes = await asyncio.gather(
        first.make(uuid.UUID(generation_id)), second.make(uuid.UUID(generation_id))
    )

    assert sorted(outcomes) == ["made", "skipped"]
    sprite_path, layout = await storyboard_column(storyboarded, generation_id)
    assert storyboarded.stored(sprite_path) and json.loads(layout)["count"] == 2
    sprites = list((storyboarded.media.root / "storyboards").glob(f"{generation_id}*"))
    assert [p.name for p in sprites] == [Path(sprite_path).name]


async def test_a_claim_that_ran_out_is_taken_again(
    storyboarded: Deployment, owner: Account
) -> None:
    relpath = f"videos/{uuid.uuid4()}.mp4"
    storyboarded.write_stored(relpath, clip(320, 180, 1.0).read_bytes())
    generation_id = await insert_completed(storyboarded, owner, relpath)
    (maker,) = makers(storyboarded, 1)
    maker.work_dir.mkdir(exist_ok=True)
    held = claim_until(datetime.now(UTC) + timedelta(minutes=5))
    async with storyboarded.engine.begin() as connection:
        await connection.execute(
            update(Generation.__table__)
            .where(Generation.id == uuid.UUID(generation_id))
            .values(storyboard_layout=held)
        )
    assert await maker.make(uuid.UUID(generation_id)) == "skipped"  # another process has it

    async with storyboarded.engine.begin() as connection:
        await connection.execute(
            update(Generation.__table__)
            .where(Generation.id == uuid.UUID(generation_id))
            .values(storyboard_layout=claim_until(datetime.now(UTC) - timedelta(seconds=1)))
        )
    assert await maker.make(uuid.UUID(generation_id)) == "made"  # that process died
