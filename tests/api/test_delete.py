"""Deleting videos: ownership first, then all or nothing, also across failures and crashes."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import update

from reelvault.generations.models import Generation
from reelvault.storage.store import MediaStore
from tests.conftest import Deployment
from tests.support.crash import CRASHED, DELETE_STEPS, IMPORT_STEPS
from tests.support.factories import Account, generation_row, insert_generations
from tests.support.faults import FailingStore, deleting_cannot_commit
from tests.support.media import clip
from tests.support.servers import ROOT, live_app, settings_env


async def imported(account: Account, prompt: str = "Delete me") -> dict:
    source = clip(320, 180, 1.0)
    response = await account.client.post(
        "/api/generations",
        data={"prompt": prompt},
        files={"file": ("clip.mp4", source.read_bytes(), "video/mp4")},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def paths(deployment: Deployment, item: dict) -> tuple[str, str]:
    """The stored (video, thumbnail) paths of an imported item."""
    video, thumbnail = await deployment.stored_paths(item["id"])
    assert video and thumbnail
    return video, thumbnail


async def row_exists(account: Account, item: dict) -> bool:
    status = (await account.client.get(f"/api/generations/{item['id']}")).status_code
    assert status in (200, 404)
    return status == 200


async def trash_is_empty(deployment: Deployment) -> bool:
    return await deployment.settled()


def skip_on_s3(deployment: Deployment) -> None:
    """Faults of the media directory's renames, unlinks and syncs (a FailingStore, a crash at
    one of its steps) have no meaning for a bucket: tests/api/test_s3_faults.py has the store's."""
    deployment.skip_on_s3("the faults are steps of the media directory")


async def test_owner_deletes_video_thumbnail_and_record(
    deployment: Deployment, account: Account
) -> None:
    item = await imported(account)
    video, thumbnail = await paths(deployment, item)
    assert deployment.stored(video) and deployment.stored(thumbnail)
    response = await account.client.delete(f"/api/generations/{item['id']}")
    assert response.status_code == 200
    assert response.json() == {"message": "Video deleted successfully", "generation_id": item["id"]}
    assert not deployment.stored(video) and not deployment.stored(thumbnail)
    assert not await row_exists(account, item)
    assert (await account.client.get(item["video_url"])).status_code == 404
    assert await trash_is_empty(deployment)
    again = await account.client.delete(f"/api/generations/{item['id']}")
    assert again.status_code == 404


async def test_foreign_video_is_403_and_untouched(
    deployment: Deployment, account: Account, other_account: Account
) -> None:
    item = await imported(account)
    before = deployment.all_files()
    response = await other_account.client.delete(f"/api/generations/{item['id']}")
    assert response.status_code == 403
    assert deployment.all_files() == before
    assert await row_exists(account, item)


@pytest.mark.parametrize("bad_id", ["nope", "1234", str(uuid.uuid4())])
async def test_unknown_or_malformed_id_is_404(account: Account, bad_id: str) -> None:
    response = await account.client.delete(f"/api/generations/{bad_id}")
    assert response.status_code == 404


async def test_cookie_delete_from_another_site_is_refused(
    deployment: Deployment, account: Account
) -> None:
    item = await imported(account)
    async with httpx.AsyncClient(base_url=deployment.base_url) as browser:
        browser.cookies.set("reelvault_token", account.token)
        refused = await browser.delete(
            f"/api/generations/{item['id']}", headers={"Origin": "https://evil.example"}
        )
        assert refused.status_code == 403
        assert await row_exists(account, item)
        allowed = await browser.delete(
            f"/api/generations/{item['id']}", headers={"Origin": deployment.base_url}
        )
        assert allowed.status_code == 200


async def test_files_already_missing_are_not_an_error(
    deployment: Deployment, account: Account
) -> None:
    item = await imported(account)
    video, thumbnail = await paths(deployment, item)
    deployment.remove_stored(video)
    response = await account.client.delete(f"/api/generations/{item['id']}")
    assert response.status_code == 200
    assert not deployment.stored(thumbnail)
    assert not await row_exists(account, item)


async def test_items_without_files_can_be_deleted(deployment: Deployment, account: Account) -> None:
    (row,) = await insert_generations(
        deployment.engine, [generation_row(account.id, status="failed")]
    )
    response = await account.client.delete(f"/api/generations/{row['id']}")
    assert response.status_code == 200
    assert (await account.client.get(f"/api/generations/{row['id']}")).status_code == 404


@contextlib.asynccontextmanager
async def served_with(
    deployment: Deployment, account: Account, store: MediaStore
) -> AsyncIterator[httpx.AsyncClient]:
    """The account's client, talking to a second app of the deployment that uses `store`."""
    with deployment.second_app(store=store) as base_url:
        async with httpx.AsyncClient(base_url=base_url, headers=account.auth, timeout=30) as client:
            yield client


async def test_a_failing_rename_keeps_row_and_files(
    deployment: Deployment, account: Account
) -> None:
    skip_on_s3(deployment)
    item = await imported(account)
    video, thumbnail = await paths(deployment, item)
    before = {p: deployment.read_stored(p) for p in (video, thumbnail)}
    # The thumbnail's move into the trash fails, after the video has already moved.
    store = FailingStore(deployment.media.root, step="move", target=".trash/*/thumbnail")
    async with served_with(deployment, account, store) as client:
        response = await client.delete(f"/api/generations/{item['id']}")
    assert response.status_code == 500
    assert "/" not in response.json()["detail"]
    assert {p: deployment.read_stored(p) for p in before} == before
    assert await row_exists(account, item)
    assert await trash_is_empty(deployment)


async def test_a_failing_commit_puts_the_files_back(
    deployment: Deployment, account: Account
) -> None:
    item = await imported(account)
    video, thumbnail = await paths(deployment, item)
    async with deleting_cannot_commit(deployment.engine, item["id"]):
        response = await account.client.delete(f"/api/generations/{item['id']}")
    assert response.status_code == 500
    assert deployment.stored(video) and deployment.stored(thumbnail)
    assert await row_exists(account, item)
    assert await trash_is_empty(deployment)


async def test_a_failing_unlink_after_commit_is_cleaned_up_at_next_start(
    deployment: Deployment, account: Account
) -> None:
    skip_on_s3(deployment)
    item = await imported(account)
    video, thumbnail = await paths(deployment, item)
    store = FailingStore(deployment.media.root, step="remove", target=".trash/*/*")
    async with served_with(deployment, account, store) as client:
        response = await client.delete(f"/api/generations/{item['id']}")
    # The record is gone and committed: the video is deleted for the user.
    assert response.status_code == 200
    assert not await row_exists(account, item)
    assert not deployment.stored(video) and not deployment.stored(thumbnail)
    restart(deployment)
    assert await trash_is_empty(deployment)


async def test_a_failing_commit_whose_undo_fails_too_loses_no_file(
    deployment: Deployment, account: Account
) -> None:
    """The commit is refused, then putting the video back is refused as well (an error that is
    not the deletion's own StorageFailure): the trashed files must survive until recovery."""
    skip_on_s3(deployment)
    item = await imported(account)
    video, thumbnail = await paths(deployment, item)
    content = deployment.read_stored(video)
    store = FailingStore(deployment.media.root, step="move", target="videos/*")
    async with (
        deleting_cannot_commit(deployment.engine, item["id"]),
        served_with(deployment, account, store) as client,
    ):
        response = await client.delete(f"/api/generations/{item['id']}")
    assert response.status_code == 500
    assert response.json()["detail"] == "The video could not be deleted; nothing was changed"
    assert await row_exists(account, item)
    restart(deployment)
    assert deployment.read_stored(video) == content, "the row stayed but its video is gone"
    assert deployment.stored(thumbnail)
    assert await trash_is_empty(deployment)


async def test_a_failing_sync_once_the_files_moved_puts_them_back(
    deployment: Deployment, account: Account
) -> None:
    """Both files are in the trash when making that durable fails (EIO): an OSError outside
    the moves themselves, which used to escape as something else than a StorageFailure."""
    skip_on_s3(deployment)
    item = await imported(account)
    video, thumbnail = await paths(deployment, item)
    before = {p: deployment.read_stored(p) for p in (video, thumbnail)}
    store = FailingStore(deployment.media.root, step="sync", target=".trash/*")
    async with served_with(deployment, account, store) as client:
        response = await client.delete(f"/api/generations/{item['id']}")
    assert response.status_code == 500
    assert {p: deployment.read_stored(p) for p in before} == before
    assert await row_exists(account, item)
    assert await trash_is_empty(deployment)


async def test_a_stored_path_that_cannot_be_trashed_keeps_row_and_files(
    deployment: Deployment, account: Account
) -> None:
    """The video moves to the trash, then the thumbnail's stored path turns out to leave the
    media directory (a tampered row): not an OSError, yet everything must go back."""
    deployment.skip_on_s3("a path leaving the media directory; a bucket's keys are names")
    item = await imported(account)
    video, _ = await paths(deployment, item)
    content = deployment.read_stored(video)
    async with deployment.engine.begin() as connection:
        await connection.execute(
            update(Generation)
            .where(Generation.id == uuid.UUID(item["id"]))
            .values(thumbnail_path="../outside.jpg")
        )
    response = await account.client.delete(f"/api/generations/{item['id']}")
    assert response.status_code == 500
    assert response.json()["detail"] == "The video could not be deleted; nothing was changed"
    assert await row_exists(account, item)
    assert deployment.read_stored(video) == content
    assert await trash_is_empty(deployment)


async def test_an_import_whose_second_rename_fails_leaves_nothing(
    deployment: Deployment, account: Account
) -> None:
    """The video is placed, then placing the thumbnail fails: the placed video must not stay
    behind without a row (and, once the operation's record is gone, for good)."""
    skip_on_s3(deployment)
    before = deployment.all_files()
    store = FailingStore(deployment.media.root, step="move", target="thumbnails/*")
    async with served_with(deployment, account, store) as client:
        response = await client.post(
            "/api/generations",
            data={"prompt": "Never stored"},
            files={"file": ("clip.mp4", clip(320, 180, 1.0).read_bytes(), "video/mp4")},
        )
    assert response.status_code == 500
    assert response.json()["detail"] == "The video could not be stored; nothing was kept"
    assert (await account.client.get("/api/generations")).json()["total"] == 0
    assert deployment.all_files() == before
    assert not any(deployment.media.incoming_dir().iterdir())


def restart(deployment: Deployment) -> None:
    """A second app on the same database and media: its start-up recovery runs."""
    with live_app(deployment.settings):
        pass


def run_crashing(deployment: Deployment, *args: str) -> int:
    env = {**os.environ, **settings_env(deployment.settings)}
    return subprocess.run(
        [sys.executable, "-m", "tests.support.crash", *args], cwd=ROOT, env=env, timeout=60
    ).returncode


@pytest.mark.parametrize("step", DELETE_STEPS)
async def test_a_crash_at_any_step_of_a_deletion_is_settled_at_restart(
    deployment: Deployment, account: Account, step: str
) -> None:
    skip_on_s3(deployment)
    item = await imported(account, prompt=f"crash {step}")
    video, thumbnail = await paths(deployment, item)
    content = deployment.read_stored(video)
    assert run_crashing(deployment, "delete", item["id"], str(account.id), step) == CRASHED
    restart(deployment)
    assert await trash_is_empty(deployment)
    if await row_exists(account, item):
        assert deployment.read_stored(video) == content, "row kept but its video is gone"
        assert deployment.stored(thumbnail), "row kept but its thumbnail is gone"
        assert step in {"after-manifest", "after-first-move", "before-commit"}
    else:
        assert not deployment.stored(video), "row gone but its video remains"
        assert not deployment.stored(thumbnail), "row gone but its thumbnail remains"
        assert step in {"after-commit", "after-first-unlink"}


@pytest.mark.parametrize("step", IMPORT_STEPS)
async def test_a_crash_during_an_import_is_settled_at_restart(
    deployment: Deployment, account: Account, step: str
) -> None:
    skip_on_s3(deployment)
    before = deployment.all_files()
    source = clip(320, 180, 1.0)
    assert run_crashing(deployment, "import", str(source), str(account.id), step) == CRASHED
    restart(deployment)
    listing = (await account.client.get("/api/generations")).json()
    assert not any(deployment.media.incoming_dir().iterdir())
    new_files = deployment.all_files() - before
    if step in {"after-first-move", "after-placing"}:
        assert listing["total"] == 0
        assert new_files == set()
    else:
        assert listing["total"] == 1
        item = listing["generations"][0]
        assert new_files == {f"videos/{item['id']}.mp4", f"thumbnails/{item['id']}.jpg"}


async def test_concurrent_deletes_of_one_video_delete_it_once(
    deployment: Deployment, account: Account
) -> None:
    import asyncio

    item = await imported(account)
    video, thumbnail = await paths(deployment, item)
    answers = await asyncio.gather(
        *(account.client.delete(f"/api/generations/{item['id']}") for _ in range(4))
    )
    codes = sorted(answer.status_code for answer in answers)
    assert codes.count(200) == 1, codes
    assert set(codes) <= {200, 404}, codes
    assert not deployment.stored(video) and not deployment.stored(thumbnail)
    assert await trash_is_empty(deployment)
