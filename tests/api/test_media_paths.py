"""A stored path that leaves the media directory is refused, whatever the row says."""

from __future__ import annotations

import pytest

from tests.conftest import Deployment
from tests.support.factories import Account, generation_row, insert_generations


@pytest.mark.parametrize(
    "stored", ["../../../../etc/passwd", "/etc/passwd", "videos/../../secret_key"]
)
async def test_tampered_paths_are_404_and_never_read(
    deployment: Deployment, account: Account, stored: str
) -> None:
    (row,) = await insert_generations(
        deployment.engine,
        [
            generation_row(
                account.id,
                status="completed",
                progress=None,
                video_path=stored,
                thumbnail_path=stored,
            )
        ],
    )
    video = await account.client.get(f"/api/video/{row['id']}")
    thumbnail = await account.client.get(f"/api/thumbnail/{row['id']}")
    assert video.status_code == 404
    assert thumbnail.status_code == 404
    assert "root:" not in video.text
    listed = (await account.client.get(f"/api/generations/{row['id']}")).json()
    assert listed["file_available"] is False
