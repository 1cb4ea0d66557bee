"""Two app replicas behind one Nginx (tests/support/replicas.py): one PostgreSQL database, one
bucket, any replica takes any request. A replica killed with SIGKILL in the middle of an import
leaves nothing behind once the other has swept, and the other keeps serving through Nginx;
live events made on one reach a subscriber of the other; a deletion on one is seen at once on
the other."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from reelvault.generations.models import Generation
from reelvault.storage.intents import storage_intent
from tests.support.factories import Account, register_and_login
from tests.support.media import clip
from tests.support.nginx import nginx_binary, render_config
from tests.support.postgres import postgres_server
from tests.support.replicas import ReplicaSet, replica_set, replica_settings
from tests.support.s3 import S3Server
from tests.support.servers import ROOT
from tests.support.sse import subscribed

# A put intent this old belongs to an import that died: short, so that the survivor's sweeper
# (every half grace period, at least 1 s) settles a killed import within seconds.
INTENT_GRACE_SECONDS = 3
BOUNDARY = "reelvault-replica-test"


def test_the_upstream_lists_every_replica_and_refuses_anything_else() -> None:
    rendered = render_config({"REELVAULT_UPSTREAM": "app1:8000, app2:8000,10.0.0.7:8000"})
    upstream = rendered.split("upstream reelvault_app {", 1)[1].split("}", 1)[0]
    servers = [line.strip() for line in upstream.splitlines() if line.strip().startswith("server")]
    assert servers == ["server app1:8000;", "server app2:8000;", "server 10.0.0.7:8000;"]
    assert "keepalive 32;" in upstream
    for forged in ("app1:8000; include /etc/passwd", "app1:8000}", ",", "app1:"):
        with pytest.raises(subprocess.CalledProcessError) as refused:
            render_config({"REELVAULT_UPSTREAM": forged})
        assert "REELVAULT_UPSTREAM" in refused.value.stderr


# --- the shared replicas (tests/deploy/conftest.py) ----------------------------------------------


async def test_nginx_spreads_requests_over_both_replicas(replicas: ReplicaSet) -> None:
    ids = [f"spread-{uuid.uuid4().hex[:12]}" for _ in range(12)]
    async with httpx.AsyncClient(base_url=replicas.base_url) as client:
        for request_id in ids:
            response = await client.get("/health/live", headers={"X-Request-ID": request_id})
            assert response.status_code == 200
            assert response.headers["x-request-id"] == request_id
    served_by = {replicas.replica_serving(request_id).name for request_id in ids}
    assert served_by == {"replica-1", "replica-2"}


async def test_events_made_on_one_replica_reach_a_subscriber_on_the_other(
    replicas: ReplicaSet,
) -> None:
    first, second = replicas.replicas
    user = await register_and_login(first.base_url)
    async with (
        user.client,
        httpx.AsyncClient(base_url=second.base_url, headers=user.auth) as elsewhere,
        subscribed(elsewhere) as stream,
    ):
        requested = await user.client.post(
            "/api/generations", json={"prompt": "Made on one replica", "duration": 4}
        )
        assert requested.status_code == 201, requested.text
        event = await stream.next_event(within=10)
        assert (event.event, event.json) == ("generation", requested.json())

        imported = await import_clip(user.client, "Imported on one replica")
        event = await stream.next_event(within=10)
        assert (event.event, event.json) == ("generation", imported)

        deleted = await user.client.delete(f"/api/generations/{imported['id']}")
        assert deleted.status_code == 200
        event = await stream.next_event(within=10)
        assert (event.event, event.json) == ("deleted", {"generation_id": imported["id"]})


async def test_a_deletion_on_one_replica_is_seen_at_once_on_the_other(
    replicas: ReplicaSet,
) -> None:
    first, second = replicas.replicas
    user = await register_and_login(first.base_url)
    async with user.client, httpx.AsyncClient(base_url=second.base_url, headers=user.auth) as other:
        kept = await import_clip(user.client, "Kept on both replicas")
        item = await import_clip(user.client, "Deleted on one replica")
        urls = (
            f"/api/generations/{item['id']}",
            f"/api/video/{item['id']}",
            f"/api/thumbnail/{item['id']}",
        )
        # The other replica serves it from the shared database and bucket, file included.
        for url in urls:
            assert (await other.get(url)).status_code == 200, url
        seen = (await other.get("/api/generations")).json()
        assert [(g["id"], g["file_available"]) for g in seen["generations"]] == [
            (item["id"], True),
            (kept["id"], True),
        ]

        assert (await user.client.delete(f"/api/generations/{item['id']}")).status_code == 200

        # The very next requests on the other replica: no cache of its own keeps it alive.
        for url in urls:
            assert (await other.get(url)).status_code == 404, url
        assert (await other.delete(urls[0])).status_code == 404
        after = (await other.get("/api/generations")).json()
        assert after["total"] == 1
        assert [(g["id"], g["file_available"]) for g in after["generations"]] == [
            (kept["id"], True)
        ]
        assert not stored_objects(replicas, item["id"])
        assert stored_objects(replicas, kept["id"])


# --- a replica killed mid-import ----------------------------------------------------------------


@pytest.fixture(scope="module")
def fragile(s3: S3Server) -> Iterator[ReplicaSet]:
    """Replicas of their own (this module kills them), sweeping abandoned uploads quickly."""
    nginx_binary()
    workdir = Path(tempfile.mkdtemp(prefix="reelvault-fragile-"))
    workdir.chmod(0o755)
    try:
        with postgres_server() as server, server.database("reelvault_fragile") as name:
            settings = replica_settings(
                server.url(name),
                s3,
                s3.new_bucket(),
                workdir,
                media_delivery="direct",
                s3_intent_grace_seconds=INTENT_GRACE_SECONDS,
            )
            with replica_set(workdir, settings, s3) as replicas:
                yield replicas
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
async def engine(fragile: ReplicaSet) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(fragile.settings.database_url)
    yield engine
    await engine.dispose()


@pytest.mark.parametrize("moment", ["while its body streams", "while its objects go up"])
async def test_a_replica_killed_during_an_import_leaves_nothing_and_the_other_serves(
    fragile: ReplicaSet, engine: AsyncEngine, moment: str
) -> None:
    for replica in fragile.replicas:  # the previous case killed one
        if not replica.alive:
            replica.start()
    await asyncio.to_thread(fragile.wait_in_rotation)
    user = await register_and_login(fragile.base_url)
    async with user.client:
        kept = await import_clip(user.client, "Imported before the crash")
        prompt = f"Lost in a crash {uuid.uuid4().hex[:8]}"
        request_id = f"crash-{uuid.uuid4().hex[:12]}"
        data = clip(640, 360, 4.0).read_bytes()

        if moment == "while its body streams":
            release = asyncio.Event()
            upload = asyncio.create_task(
                slow_upload(fragile.base_url, user, prompt, data, request_id, release)
            )
            # Looked for off the event loop, which sends the body meanwhile.
            victim = await asyncio.to_thread(fragile.replica_uploading, user.id)
            victim.kill()
            release.set()
        else:
            # The store frozen: the import commits its put intent, then waits on the store.
            with fragile.s3.paused():
                upload = asyncio.create_task(
                    slow_upload(fragile.base_url, user, prompt, data, request_id)
                )
                await wait_for(lambda: import_intents(engine), "the import's put intent")
                victim = fragile.replica_uploading(user.id)
                victim.kill()
        answer = await upload
        survivor = next(r for r in fragile.replicas if r is not victim)

        # The client got Nginx's 502 (or lost the connection): the upload was not sent again
        # to the other replica, which never saw that request.
        assert answer in (502, "connection lost"), answer
        assert not survivor.served(request_id)

        # The survivor keeps serving through Nginx, every request (Nginx passes the ones that
        # meet the dead replica on), and takes new imports.
        for _ in range(6):
            listing = await user.client.get("/api/generations")
            assert listing.status_code == 200, listing.text
            item = await user.client.get(f"/api/generations/{kept['id']}")
            assert item.status_code == 200, item.text
            ranged = await user.client.get(
                f"/api/video/{kept['id']}", headers={"Range": "bytes=0-99"}
            )
            assert ranged.status_code == 206 and len(ranged.content) == 100, ranged.text
        after_crash = await import_clip(user.client, "Imported after the crash")

        # Nothing of the lost import: no row, and once the survivor has swept (the grace
        # period), no intent and no object that no row names (a key holds its row's id).
        assert await rows_with_prompt(engine, prompt) == 0
        await wait_for(lambda: no_intents(engine), "the sweep of the abandoned upload", within=30)
        if moment == "while its objects go up":  # the survivor's sweeper took its intent
            messages = [entry.get("message", "") for entry in survivor.log_entries()]
            assert any("sweep: abandoned upload" in message for message in messages)
        rows = await generation_ids(engine)
        keys = fragile.s3.keys(fragile.settings.s3_bucket)
        assert [key for key in keys if not any(row in key for row in rows)] == []
        for item in (kept, after_crash):
            kinds = {key.split("/")[0] for key in stored_objects(fragile, item["id"])}
            assert {"videos", "thumbnails"} <= kinds, item
        listing = (await user.client.get("/api/generations")).json()
        assert {g["prompt"] for g in listing["generations"]} == {
            "Imported before the crash",
            "Imported after the crash",
        }

        # Restarted, the killed replica drops the work files it died with.
        victim.start()
        assert not victim.work_files()


# --- helpers -------------------------------------------------------------------------------------


async def import_clip(client: httpx.AsyncClient, prompt: str) -> dict:
    response = await client.post(
        "/api/generations",
        data={"prompt": prompt},
        files={"file": ("clip.mp4", clip(320, 180, 1.0).read_bytes(), "video/mp4")},
    )
    assert response.status_code == 201, response.text
    return response.json()


def stored_objects(replicas: ReplicaSet, generation_id: str) -> set[str]:
    """The bucket's keys of one generation (its video, thumbnail, storyboard)."""
    return {key for key in replicas.s3.keys(replicas.settings.s3_bucket) if generation_id in key}


async def slow_upload(
    base_url: str,
    user: Account,
    prompt: str,
    data: bytes,
    request_id: str,
    release: asyncio.Event | None = None,
) -> int | str:
    """An import through Nginx. With `release`, half the file is sent, then nothing until the
    event is set; without, it is sent whole. Its status, or "connection lost"."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="prompt"\r\n\r\n{prompt}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="clip.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    body = head + data + tail

    async def chunks() -> AsyncIterator[bytes]:
        if release is None:
            yield body
            return
        half = len(body) // 2
        for start in range(0, half, 16 * 1024):
            yield body[start : min(start + 16 * 1024, half)]
            await asyncio.sleep(0.01)
        await release.wait()
        yield body[half:]

    headers = {
        **user.auth,
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        "Content-Length": str(len(body)),
        "X-Request-ID": request_id,
    }
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
            response = await client.post("/api/generations", content=chunks(), headers=headers)
    except httpx.TransportError:
        return "connection lost"
    return response.status_code


async def intents(engine: AsyncEngine) -> bool:
    async with engine.connect() as connection:
        return bool(await connection.scalar(select(func.count()).select_from(storage_intent)))


async def import_intents(engine: AsyncEngine) -> bool:
    """Whether an import's put intent is there (its keys name a video; a storyboard made in
    the background has an intent of its own)."""
    async with engine.connect() as connection:
        found = (
            select(func.count())
            .select_from(storage_intent)
            .where(storage_intent.c.action == "put")
            .where(storage_intent.c.object_keys.contains("videos/"))
        )
        return bool(await connection.scalar(found))


async def no_intents(engine: AsyncEngine) -> bool:
    return not await intents(engine)


async def generation_ids(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return {str(row) for row in await connection.scalars(select(Generation.id))}


async def rows_with_prompt(engine: AsyncEngine, prompt: str) -> int:
    async with engine.connect() as connection:
        found = select(func.count()).select_from(Generation).where(Generation.prompt == prompt)
        return int(await connection.scalar(found) or 0)


async def wait_for(condition: Callable[[], Awaitable[bool]], what: str, within: float = 15) -> None:
    deadline = time.monotonic() + within
    while not await condition():
        assert time.monotonic() < deadline, f"no {what} within {within} s"
        await asyncio.sleep(0.02)


def test_a_small_load_through_the_replicas_has_no_error(replicas: ReplicaSet) -> None:
    """bench/load.py --small through Nginx to both replicas: every range checked byte for byte
    (streamed by either replica from the bucket), imports and deletions on either."""
    pids = [f"--app-pid={r.process.pid}" for r in replicas.replicas if r.process is not None]
    command = ["bench/load.py", "--small", "--base", replicas.base_url, *pids]
    result = subprocess.run(
        [sys.executable, *command], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ", 0 errors" in result.stdout
    assert "GET /api/video/{id} Range " in result.stdout
    rss = re.search(r"app RSS \(pid ([\d,]+)\)", result.stdout)
    assert rss is not None and len(rss.group(1).split(",")) >= 2  # both replicas measured
