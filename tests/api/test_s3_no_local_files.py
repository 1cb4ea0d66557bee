"""With the media in a bucket, the local disk keeps no media at all: after imports (one whose
moov had to move to the front), a worker's result, thumbnails and storyboards served, and
deletions, the data directory holds the database and the secret, nothing else; every
object in the bucket belongs to a row, every row's files are in the bucket."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from reelvault.generations.models import Generation
from tests.conftest import Deployment, deployment_of
from tests.support.factories import register_and_login
from tests.support.lifecycle import WorkerClient, create_worker_key, request_generation
from tests.support.media import clip

# What a data directory may hold besides media: the embedded database (with SQLite's side
# files) and the signing key made on first start.
ALLOWED = {"reelvault.db", "reelvault.db-wal", "reelvault.db-shm", "reelvault.db-journal"}
ALLOWED |= {"secret_key"}
PATH_COLUMNS = [c for c in Generation.__table__.c if c.name.endswith("_path")]


@pytest.fixture(scope="module", params=["sqlite-s3", "postgresql-s3"])
def bucketed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    workdir = tmp_path_factory.mktemp(f"no-local-files-{request.param}")
    with deployment_of(
        request.param, workdir, request, max_upload_bytes=64 * 1024 * 1024
    ) as deployment:
        yield deployment


def local_files(data_dir: Path) -> set[str]:
    """Every file under the data directory, but the upload slots' lock files: empty files
    whose flock is an upload in flight (per account and slot, kept for the next upload)."""
    found = set()
    for path in data_dir.rglob("*"):
        if not path.is_file():
            continue
        relative = path.relative_to(data_dir)
        if relative.parts[0] == "uploads-in-flight" and path.stat().st_size == 0:
            continue
        found.add(str(relative))
    return found


async def test_no_video_thumbnail_or_storyboard_is_left_on_the_local_disk(
    bucketed: Deployment,
) -> None:
    owner = await register_and_login(bucketed.base_url)
    worker = WorkerClient(bucketed.base_url, create_worker_key(bucketed.settings))
    try:
        imported = []
        for source in (clip(320, 180, 1.0), clip(320, 240, 2.0, moov_at_end=True)):
            response = await owner.client.post(
                "/api/generations",
                data={"prompt": "Kept in the bucket"},
                files={"file": ("clip.mp4", source.read_bytes(), "video/mp4")},
            )
            assert response.status_code == 201, response.text
            imported.append(response.json())

        requested = await request_generation(owner.client)
        job = (await worker.claim()).json()
        assert job["generation_id"] == requested["id"]
        assert (await worker.heartbeat(job["generation_id"], job["lease_token"], 50)).is_success
        done = await worker.complete(
            job["generation_id"], job["lease_token"], clip(360, 640, 2.0).read_bytes()
        )
        assert done.status_code == 200, done.text
        made = done.json()

        for item in [*imported, made]:
            for url in (item["video_url"], item["thumbnail_url"]):
                served = await owner.client.get(url)
                assert served.status_code == 200, (url, served.text)
            # Storyboards are made on first need and stored like the rest.
            if item.get("storyboard_url"):
                assert (await owner.client.get(item["storyboard_url"])).status_code in (200, 404)
        listing = (await owner.client.get("/api/generations")).json()
        assert listing["total"] == 3
        assert all(entry["file_available"] for entry in listing["generations"])

        deleted = imported[0]
        gone = {p for p in await bucketed.stored_paths(deleted["id"]) if p}
        assert gone and all(bucketed.stored(p) for p in gone)
        assert (await owner.client.delete(f"/api/generations/{deleted['id']}")).status_code == 200
        assert (await owner.client.get(deleted["video_url"])).status_code == 404

    finally:
        await worker.aclose()
        await owner.client.aclose()

    leftovers = local_files(bucketed.settings.data_dir) - ALLOWED
    assert leftovers == set(), f"media on the local disk: {sorted(leftovers)}"
    # The bucket holds exactly what the rows name (this deployment's bucket is its own).
    async with bucketed.engine.connect() as connection:
        rows = (await connection.execute(select(*PATH_COLUMNS))).all()
    named = {path for row in rows for path in row if path}
    assert len(named) >= 4, named  # two videos with their thumbnails at least
    assert not named & gone, "the deleted video's paths are still named"
    assert bucketed.stored_keys() == named
    assert not any(bucketed.stored(p) for p in gone)
    assert await bucketed.settled()
