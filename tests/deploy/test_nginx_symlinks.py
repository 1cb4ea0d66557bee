"""Nginx's media locations follow no symbolic link (`disable_symlinks`), whatever an app says.

The app refuses a linked path before it answers `X-Accel-Redirect`, so the real app cannot show
Nginx's own rule: here a stub upstream redirects every `/api/video/<path>` to `<path>` in the
internal media location, as an app would that a link was swapped in behind."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reelvault.settings import Settings
from tests.support.nginx import Nginx, nginx_binary, nginx_in_front
from tests.support.servers import serving

SECRET = b"another user's video " * 1000


def accel_stub(prefix: str) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        relpath = scope["path"].removeprefix("/api/video/")
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"x-accel-redirect", f"{prefix}{relpath}".encode()),
                    (b"content-type", b"video/mp4"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    return app


@pytest.fixture(scope="module")
def media_behind_nginx() -> Iterator[tuple[Path, Nginx]]:
    nginx_binary()
    workdir = Path(tempfile.mkdtemp(prefix="reelvault-symlinks-"))
    workdir.chmod(0o755)
    try:
        settings = Settings(data_dir=workdir / "data", media_delivery="accel").resolved()
        media = settings.media_root
        (media / "videos").mkdir(parents=True)
        for folder in (workdir / "data", media, media / "videos"):
            folder.chmod(0o755)
        (media / "videos" / "victim.mp4").write_bytes(SECRET)
        (media / "videos" / "victim.mp4").chmod(0o644)
        (media / "videos" / "link.mp4").symlink_to("victim.mp4")
        (media / "linked").symlink_to(media / "videos", target_is_directory=True)
        with (
            serving(accel_stub(settings.accel_prefix), lifespan="off") as stub,
            nginx_in_front(stub.port, settings, workdir) as nginx,
        ):
            yield media, nginx
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.mark.parametrize("headers", [{}, {"Range": "bytes=0-99"}, {"Range": "bytes=oops"}])
def test_a_real_file_is_served(
    media_behind_nginx: tuple[Path, Nginx], headers: dict[str, str]
) -> None:
    _, nginx = media_behind_nginx
    response = httpx.get(f"{nginx.base_url}/api/video/videos/victim.mp4", headers=headers)
    assert response.status_code in (200, 206)
    assert response.content == SECRET[: len(response.content)]


@pytest.mark.parametrize("path", ["videos/link.mp4", "linked/victim.mp4"])
@pytest.mark.parametrize("headers", [{}, {"Range": "bytes=0-99"}, {"Range": "bytes=oops"}])
def test_a_linked_file_or_folder_is_refused(
    media_behind_nginx: tuple[Path, Nginx], path: str, headers: dict[str, str]
) -> None:
    _, nginx = media_behind_nginx
    response = httpx.get(f"{nginx.base_url}/api/video/{path}", headers=headers)
    assert response.status_code in (403, 404)
    assert SECRET[:20] not in response.content
