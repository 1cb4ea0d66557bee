"""The object store failing under the app, on SQLite and PostgreSQL: stopped (connections
closed), answering 500, dying in the middle of a response, and the app process killed at the
steps around the commit. Whatever happens, the owner sees all or nothing at once, and once
the store is back and the sweeper ran, every row has its objects and every object its row.

These apps are of their own, pointed through a fault-injecting proxy (tests/support/
s3_proxy.py) at an S3 server of their own: breaking them hurts no other test. The proxy keeps
the server running, so objects survive an outage and an orphan would be seen."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from reelvault.generations.models import Generation
from reelvault.settings import Settings
from reelvault.storage.intents import storage_intent
from tests.conftest import BACKENDS, Deployment, database_url
from tests.support.crash import CRASHED, S3_DELETE_STEPS, S3_IMPORT_STEPS
from tests.support.factories import PASSWORD, Account, register_and_login
from tests.support.media import clip
from tests.support.s3 import s3_server, s3_settings
from tests.support.s3_proxy import S3Proxy, s3_proxy
from tests.support.servers import ROOT, live_app, settings_env
from tests.support.video_http import exchange

UNAVAILABLE = "The media store is unavailable for a moment; try again shortly"
SETTLED_WITHIN = 30.0  # seconds for a restarted app's sweeper to finish, on a loaded machine
PATH_COLUMNS = [c for c in Generation.__table__.c if c.name.endswith("_path")]


class FaultyDeployment(Deployment):
    """A deployment whose app reaches its bucket only through `proxy`; `stored`,
    `stored_keys` and friends look at the server directly, past the faults."""

    proxy: S3Proxy


@pytest.fixture(scope="module", params=BACKENDS)
def faulty(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FaultyDeployment]:
    backend: str = request.param
    workdir = tmp_path_factory.mktemp(f"s3-faults-{backend}")
    with s3_server() as server, s3_proxy(server) as proxy, database_url(backend, workdir) as url:
        settings = s3_settings(
            # Storyboards on first need only: no background upload among the counted faults.
            Settings(
                data_dir=workdir,
                database_url=url,
                max_upload_bytes=64 * 1024 * 1024,
                storyboards="on-demand",
            ),
            server,
            server.new_bucket(),
            s3_prefix="media/",
        )
        # The app talks to the proxy; the grace period stays long, so that only a restart
        # told otherwise abandons an upload.
        settings = dataclasses.replace(settings, s3_endpoint_url=proxy.endpoint_url)
        with live_app(settings, migrate=True) as served:
            deployment = FaultyDeployment(backend, settings, served, server)
            deployment.proxy = proxy
            yield deployment


@pytest.fixture
async def owner(faulty: FaultyDeployment) -> AsyncIterator[Account]:
    user = await register_and_login(faulty.base_url)
    yield user
    await user.client.aclose()


@pytest.fixture
async def stranger(faulty: FaultyDeployment) -> AsyncIterator[Account]:
    user = await register_and_login(faulty.base_url)
    yield user
    await user.client.aclose()


async def imported(
    account: Account, source: Any = None, prompt: str = "Stored in a bucket"
) -> dict:
    source = source or clip(320, 180, 1.0)
    response = await account.client.post(
        "/api/generations",
        data={"prompt": prompt},
        files={"file": ("clip.mp4", source.read_bytes(), "video/mp4")},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def named_by_rows(deployment: Deployment) -> set[str]:
    """Every stored path some row names."""
    async with deployment.engine.connect() as connection:
        rows = (await connection.execute(select(*PATH_COLUMNS))).all()
    return {path for row in rows for path in row if path}


async def intents_left(deployment: Deployment) -> int:
    async with deployment.engine.connect() as connection:
        return await connection.scalar(select(func.count()).select_from(storage_intent)) or 0


async def assert_consistent(deployment: Deployment) -> None:
    """Nothing lost (every path a row names is in the bucket) and nothing orphaned (every
    object in the bucket is named by a row), no intent left over."""
    rows, keys = await named_by_rows(deployment), deployment.stored_keys()
    assert rows - keys == set(), "rows whose objects are gone"
    assert keys - rows == set(), "objects without a row"
    assert await intents_left(deployment) == 0


async def eventually(check: Callable[[], Awaitable[None]], within: float = SETTLED_WITHIN) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            await check()
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.25)


@pytest.fixture
def restart(faulty: FaultyDeployment) -> Callable[[], Any]:
    """A second app process on the same database and bucket, started after the grace period
    of the uploads in flight (1 s for it): its sweeper runs at once, and the test waits, inside
    the block, until everything is settled."""

    @contextlib.asynccontextmanager
    async def restarted() -> AsyncIterator[str]:
        await asyncio.sleep(1.5)  # every abandoned intent is now older than the grace period
        with live_app(faulty.settings, s3_intent_grace_seconds=1) as app:
            await eventually(lambda: assert_consistent(faulty))
            yield app.base_url

    return restarted


async def total(account: Account) -> int:
    return (await account.client.get("/api/generations")).json()["total"]


# --- the store stopped, or answering 500, during an import --------------------------------------


@pytest.mark.parametrize("fault", ["drop", 500], ids=["stopped", "answering-500"])
async def test_the_store_failing_once_the_video_is_up_leaves_no_row_and_after_a_sweep_no_object(
    faulty: FaultyDeployment, owner: Account, restart: Any, fault: Any
) -> None:
    """The video goes up, then the store fails for the thumbnail and for the clean-up of the
    video: 503, no row at once; the video's object is orphaned until the sweeper takes it."""
    before = faulty.stored_keys()
    proxy = faulty.proxy
    with (
        proxy.failing(fault, key="thumbnails/") as thumbnail_put,
        proxy.failing(fault, method="POST", query="delete") as cleanup,
    ):
        response = await owner.client.post(
            "/api/generations",
            data={"prompt": "The store goes away mid-import"},
            files={"file": ("clip.mp4", clip(320, 180, 1.0).read_bytes(), "video/mp4")},
        )
    assert response.status_code == 503, response.text
    assert response.json()["detail"] == UNAVAILABLE
    assert thumbnail_put.hits >= 1 and cleanup.hits >= 1, "the faults were never met"
    assert await total(owner) == 0
    orphans = faulty.stored_keys() - before
    assert orphans and all(key.startswith("videos/") for key in orphans), orphans
    assert await intents_left(faulty) == 1, "the upload's intent is the sweeper's lead"
    async with restart():
        assert faulty.stored_keys() == before
    assert not any(faulty.media.incoming_dir().iterdir())
    assert await total(owner) == 0


async def test_a_store_refusing_every_upload_is_503_and_cleans_up_at_once(
    faulty: FaultyDeployment, owner: Account
) -> None:
    before = faulty.stored_keys()
    with faulty.proxy.failing(500, method="PUT") as refused:
        response = await owner.client.post(
            "/api/generations",
            data={"prompt": "Refused by the store"},
            files={"file": ("clip.mp4", clip(320, 180, 1.0).read_bytes(), "video/mp4")},
        )
    assert response.status_code == 503, response.text
    assert refused.hits >= 1
    assert await total(owner) == 0
    assert faulty.stored_keys() == before
    assert await intents_left(faulty) == 0  # the store answered the clean-up: nothing pending
    assert not any(faulty.media.incoming_dir().iterdir())


# --- the store stopped, or answering 500, during a delete ---------------------------------------


@pytest.mark.parametrize("fault", ["drop", 500], ids=["stopped", "answering-500"])
async def test_a_delete_rolls_forward_past_a_failing_store(
    faulty: FaultyDeployment, owner: Account, restart: Any, fault: Any
) -> None:
    """The row goes at once (the contract's 200), the owner never sees the video again; its
    objects stay until the store answers, then the sweeper removes them."""
    item = await imported(owner)
    video, thumbnail = await faulty.stored_paths(item["id"])
    with faulty.proxy.failing(fault, method="POST", query="delete") as removal:
        response = await owner.client.delete(f"/api/generations/{item['id']}")
        assert response.status_code == 200, response.text
        assert response.json()["generation_id"] == item["id"]
        assert (await owner.client.get(f"/api/generations/{item['id']}")).status_code == 404
        assert (await owner.client.get(item["video_url"])).status_code == 404
        assert (await owner.client.get(item["thumbnail_url"])).status_code == 404
        listed = (await owner.client.get("/api/generations")).json()["generations"]
        assert item["id"] not in {entry["id"] for entry in listed}
    assert removal.hits >= 1, "the fault was never met"
    assert faulty.stored(video) and faulty.stored(thumbnail), "removed despite the fault"
    assert await intents_left(faulty) >= 1
    async with restart():
        assert not faulty.stored(video) and not faulty.stored(thumbnail)
    assert (await owner.client.get(item["video_url"])).status_code == 404


async def test_an_account_closed_while_the_store_is_down_takes_its_objects_later(
    faulty: FaultyDeployment, restart: Any
) -> None:
    account = await register_and_login(faulty.base_url)
    try:
        items = [await imported(account, prompt=f"Library {n}") for n in range(2)]
        paths = {p for item in items for p in await faulty.stored_paths(item["id"])}
        with faulty.proxy.down():
            closed = await account.client.request(
                "DELETE", "/api/auth/me", json={"password": PASSWORD}
            )
        assert closed.status_code == 204, closed.text
        assert (await account.client.get("/api/auth/me")).status_code == 401
        assert all(faulty.stored(p) for p in paths), "removed while the store was down"
        async with restart():
            assert not any(faulty.stored(p) for p in paths)
    finally:
        await account.client.aclose()


# --- the store failing while a video streams ----------------------------------------------------


async def test_a_store_dying_mid_stream_cuts_that_response_and_the_app_serves_others(
    faulty: FaultyDeployment, owner: Account, stranger: Account
) -> None:
    big = await imported(owner, clip(1280, 720, 4.0), "Cut in the middle")
    other = await imported(stranger, clip(640, 360, 2.0), "Someone else's")
    video, _ = await faulty.stored_paths(big["id"])
    whole = faulty.read_stored(video)
    assert len(whole) > 200_000
    with faulty.proxy.cutting_after(64 * 1024, method="GET", key=video) as cut:
        reply = await exchange(faulty.base_url, "GET", big["video_url"], owner.auth)
        # Meanwhile another owner's video streams whole.
        others = await stranger.client.get(other["video_url"])
    assert cut.hits >= 1, "the fault was never met"
    if reply.status == 503:  # failed before the status line: a clean error
        assert UNAVAILABLE in reply.body.decode()
    else:
        assert reply.status == 200, reply
        promised = int(reply.headers["content-length"])
        assert promised == len(whole)
        assert len(reply.body) < promised, "a cut stream must not look whole"
        assert whole.startswith(reply.body), "the bytes sent must be the object's"
    assert others.status_code == 200
    assert others.content == faulty.read_stored((await faulty.stored_paths(other["id"]))[0])
    # Once the store is whole again, the same video streams whole.
    again = await exchange(faulty.base_url, "GET", big["video_url"], owner.auth)
    assert (again.status, again.body) == (200, whole)


async def test_a_stopped_store_is_503_for_media_and_readiness_and_the_app_stays_up(
    faulty: FaultyDeployment, owner: Account
) -> None:
    item = await imported(owner)
    async with httpx.AsyncClient(base_url=faulty.base_url, timeout=60) as anonymous:
        with faulty.proxy.down():
            started = time.monotonic()
            reply = await exchange(faulty.base_url, "GET", item["video_url"], owner.auth)
            ranged = await exchange(
                faulty.base_url, "GET", item["video_url"], {**owner.auth, "Range": "bytes=0-99"}
            )
            ready = await anonymous.get("/health/ready")
            live = await anonymous.get("/health/live")
            listing = await owner.client.get("/api/generations")
            took = time.monotonic() - started
        assert (reply.status, ranged.status) == (503, 503), (reply, ranged)
        assert UNAVAILABLE in reply.body.decode()
        assert ready.status_code == 503, ready.text
        assert live.status_code == 200
        assert listing.status_code == 200  # the database answers; the store is not needed
        assert took < 60, f"the outage held requests for {took:.0f} s"
        assert (await anonymous.get("/health/ready")).status_code == 200
    assert (await owner.client.get(item["video_url"])).status_code == 200
    await assert_consistent(faulty)


async def test_a_store_answering_500_to_every_read_is_503_for_media_not_a_500(
    faulty: FaultyDeployment, owner: Account
) -> None:
    item = await imported(owner)
    with (
        faulty.proxy.failing(500, method="HEAD") as heads,
        faulty.proxy.failing(500, method="GET", key="/media/") as gets,
    ):
        video = await exchange(faulty.base_url, "GET", item["video_url"], owner.auth)
        head = await exchange(faulty.base_url, "HEAD", item["video_url"], owner.auth)
        thumbnail = await exchange(faulty.base_url, "GET", item["thumbnail_url"], owner.auth)
        listing = await owner.client.get("/api/generations")
    assert heads.hits + gets.hits >= 1, "the fault was never met"
    assert (video.status, head.status, thumbnail.status) == (503, 503, 503)
    assert UNAVAILABLE in video.body.decode()
    assert listing.status_code == 200
    assert (await owner.client.get(item["video_url"])).status_code == 200
    await assert_consistent(faulty)


# --- the app process killed around the commit ---------------------------------------------------


def run_crashing(deployment: Deployment, *args: str) -> int:
    env = {**os.environ, **settings_env(deployment.settings)}
    return subprocess.run(
        [sys.executable, "-m", "tests.support.crash", *args], cwd=ROOT, env=env, timeout=120
    ).returncode


@pytest.mark.parametrize("step", S3_IMPORT_STEPS)
async def test_an_import_killed_around_its_commit_leaves_no_object_without_its_row(
    faulty: FaultyDeployment, owner: Account, restart: Any, step: str
) -> None:
    before = faulty.stored_keys()
    source = clip(320, 180, 1.0)
    assert run_crashing(faulty, "import", str(source), str(owner.id), step) == CRASHED
    up = faulty.stored_keys() - before
    assert len(up) == 2, f"the objects went up before the {step} crash: {up}"
    async with restart():
        pass
    listing = (await owner.client.get("/api/generations")).json()
    if step == "after-placing":  # killed before the commit: the sweeper took the objects
        assert listing["total"] == 0
        assert faulty.stored_keys() == before
    else:
        assert listing["total"] == 1
        item = listing["generations"][0]
        assert set(await faulty.stored_paths(item["id"])) == up
        served = await owner.client.get(item["video_url"])
        assert served.status_code == 200
        assert len(served.content) == item["file_size"]
    assert not any(faulty.media.incoming_dir().iterdir())


@pytest.mark.parametrize("step", S3_DELETE_STEPS)
async def test_a_delete_killed_around_its_commit_is_all_or_nothing(
    faulty: FaultyDeployment, owner: Account, restart: Any, step: str
) -> None:
    item = await imported(owner, prompt=f"crash {step}")
    paths = await faulty.stored_paths(item["id"])
    content = faulty.read_stored(paths[0])
    assert run_crashing(faulty, "delete", item["id"], str(owner.id), step) == CRASHED
    async with restart():
        pass
    kept = (await owner.client.get(f"/api/generations/{item['id']}")).status_code == 200
    if step == "before-commit":
        assert kept, "the row went without a commit"
        assert faulty.read_stored(paths[0]) == content, "row kept but its video is gone"
        assert (await owner.client.get(item["video_url"])).content == content
    else:
        assert not kept, "the row came back"
        assert not any(faulty.stored(p) for p in paths), "row gone but objects remain"
