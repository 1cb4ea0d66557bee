"""A symbolic link in the media directory is never followed: not the file itself, not a folder
on the way, not even one that points at another user's file inside the media directory."""

from __future__ import annotations

import logging
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import Deployment
from tests.support.factories import Account, generation_row, insert_generations


@pytest.fixture(autouse=True)
def local_storage_only(deployment: Deployment) -> None:
    deployment.skip_on_s3("a bucket has no symbolic links: its keys are names, not paths")


async def stored_video(
    deployment: Deployment, account: Account, video_path: str, thumbnail_path: str
) -> str:
    generation_id = uuid.uuid4()
    row = generation_row(
        account.id,
        id=generation_id,
        status="completed",
        progress=None,
        video_path=video_path,
        thumbnail_path=thumbnail_path,
        completed_at=datetime.now(UTC),
    )
    await insert_generations(deployment.engine, [row])
    return str(generation_id)


def real_files(deployment: Deployment) -> tuple[str, str, bytes]:
    """A victim's video and thumbnail, real files under the media directory."""
    root = deployment.media.root
    name = uuid.uuid4()
    secret = b"the victim's video " + os.urandom(64 * 1024)
    (root / "videos" / f"{name}.mp4").write_bytes(secret)
    (root / "thumbnails" / f"{name}.jpg").write_bytes(b"\xff\xd8\xff victim")
    return f"videos/{name}.mp4", f"thumbnails/{name}.jpg", secret


async def test_a_linked_file_is_404_even_pointing_at_a_file_inside(
    deployment: Deployment,
    account: Account,
    other_account: Account,
    caplog: pytest.LogCaptureFixture,
) -> None:
    video, thumbnail, secret = real_files(deployment)
    await stored_video(deployment, other_account, video, thumbnail)  # the victim's own row
    root = deployment.media.root
    link = uuid.uuid4()
    (root / "videos" / f"{link}.mp4").symlink_to(Path(video).name)  # relative, inside videos/
    (root / "thumbnails" / f"{link}.jpg").symlink_to(root / thumbnail)
    generation_id = await stored_video(
        deployment, account, f"videos/{link}.mp4", f"thumbnails/{link}.jpg"
    )
    with caplog.at_level(logging.ERROR, logger="reelvault.media"):
        answers = [
            await account.client.get(f"/api/video/{generation_id}"),
            await account.client.head(f"/api/video/{generation_id}"),
            await account.client.get(
                f"/api/video/{generation_id}", headers={"Range": "bytes=0-99"}
            ),
            await account.client.get(f"/api/thumbnail/{generation_id}"),
        ]
    assert [answer.status_code for answer in answers] == [404, 404, 404, 404]
    assert all(secret[:20] not in answer.content for answer in answers)
    assert "symbolic link" in caplog.text
    item = (await account.client.get(f"/api/generations/{generation_id}")).json()
    assert item["file_available"] is False
    # The victim still gets their own video.
    assert (await other_account.client.get("/api/generations")).json()["total"] >= 1


async def test_a_linked_folder_on_the_way_is_404(deployment: Deployment, account: Account) -> None:
    video, thumbnail, secret = real_files(deployment)
    root = deployment.media.root
    folder = f"linked-{uuid.uuid4().hex[:8]}"
    (root / folder).symlink_to(root / "videos", target_is_directory=True)
    generation_id = await stored_video(
        deployment, account, f"{folder}/{Path(video).name}", thumbnail.replace("thumbnails", folder)
    )
    answer = await account.client.get(f"/api/video/{generation_id}")
    assert answer.status_code == 404
    assert secret[:20] not in answer.content
    item = (await account.client.get(f"/api/generations/{generation_id}")).json()
    assert item["file_available"] is False


async def test_deleting_a_linked_video_removes_the_link_not_its_target(
    deployment: Deployment, account: Account
) -> None:
    video, thumbnail, secret = real_files(deployment)
    root = deployment.media.root
    link = uuid.uuid4()
    (root / "videos" / f"{link}.mp4").symlink_to(root / video)
    generation_id = await stored_video(
        deployment, account, f"videos/{link}.mp4", f"thumbnails/{link}.jpg"
    )
    answer = await account.client.delete(f"/api/generations/{generation_id}")
    assert answer.status_code == 200
    assert not (root / "videos" / f"{link}.mp4").is_symlink()
    assert (root / video).read_bytes() == secret
    assert (root / thumbnail).exists()
