"""Accel mode (`media_delivery="accel"`): the app checks the token, the id, the owner, the
status and the file, then answers with `X-Accel-Redirect` and no body, so that Nginx sends the
bytes and the ranges. Every refusal happens before, and never carries the redirect."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from reelvault.accounts.auth import AUTH_COOKIE
from reelvault.settings import Settings
from tests.support.factories import (
    Account,
    generation_row,
    insert_generations,
    register_and_login,
)
from tests.support.media import clip
from tests.support.servers import LiveServer, live_app
from tests.support.video_http import Reply, exchange, import_video, stored_video


@pytest.fixture(scope="module")
def accel_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("accel")
    settings = Settings(data_dir=workdir, media_delivery="accel").resolved()
    with live_app(settings, migrate=True) as live:
        yield live


@dataclass(frozen=True)
class AccelLibrary:
    server: LiveServer
    owner: Account
    stranger: Account
    item: dict
    engine: AsyncEngine  # for rows the API cannot create

    @property
    def id(self) -> str:
        return self.item["id"]

    @property
    def url(self) -> str:
        return f"/api/video/{self.id}"

    async def request(
        self, method: str, target: str, who: Account | None = None, **headers: str
    ) -> Reply:
        auth = (who or self.owner).auth
        return await exchange(self.server.base_url, method, target, {**auth, **headers})


@pytest.fixture(scope="module")
async def accel(accel_server: LiveServer) -> AsyncIterator[AccelLibrary]:
    owner = await register_and_login(accel_server.base_url)
    stranger = await register_and_login(accel_server.base_url)
    item = await import_video(owner, clip(320, 180, 2.0), "Served by Nginx")
    engine = create_async_engine(accel_server.settings.database_url)
    yield AccelLibrary(accel_server, owner, stranger, item, engine)
    await engine.dispose()
    await owner.client.aclose()
    await stranger.client.aclose()


def assert_redirect(accel: AccelLibrary, reply: Reply) -> None:
    assert reply.status == 200
    headers = reply.headers
    assert headers["x-accel-redirect"] == f"/_protected_media/videos/{accel.id}.mp4"
    assert headers["content-type"] == "video/mp4"
    assert headers["content-disposition"] == f'attachment; filename="ad_{accel.id}.mp4"'
    assert headers.get("content-length", "0") == "0"
    assert "content-range" not in headers
    assert reply.body == b""


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize(
    "headers",
    [{}, {"Range": "bytes=0-1"}, {"Range": "bytes=0-1,5-6"}, {"Range": "bytes=999999999-"}],
    ids=["plain", "range", "multi", "unsatisfiable"],
)
async def test_a_completed_video_is_handed_to_nginx(
    accel: AccelLibrary, method: str, headers: dict[str, str]
) -> None:
    # Ranges are Nginx's to answer: the app redirects whatever the Range says.
    assert_redirect(accel, await accel.request(method, accel.url, **headers))


async def test_the_cookie_alone_gets_the_redirect(accel: AccelLibrary) -> None:
    async with httpx.AsyncClient(base_url=accel.server.base_url) as browser:
        browser.cookies.set(AUTH_COOKIE, accel.owner.token)
        response = await browser.get(accel.url, headers={"Range": "bytes=0-"})
    assert response.status_code == 200
    assert response.headers["x-accel-redirect"] == f"/_protected_media/videos/{accel.id}.mp4"
    assert response.content == b""


def assert_refused(reply: Reply, status: int, detail: str | None, method: str) -> None:
    assert reply.status == status
    assert "x-accel-redirect" not in reply.headers
    assert "content-disposition" not in reply.headers
    if method == "HEAD":
        assert reply.body == b""
        return
    body = json.loads(reply.body)
    assert body["status_code"] == status
    if detail is not None:
        assert body["detail"] == detail


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("which", ["foreign", "unknown", "malformed"])
async def test_unknown_foreign_and_malformed_ids_are_404_without_redirect(
    accel: AccelLibrary, method: str, which: str
) -> None:
    target, who = {
        "foreign": (accel.url, accel.stranger),
        "unknown": (f"/api/video/{uuid.uuid4()}", accel.owner),
        "malformed": ("/api/video/not-an-id", accel.owner),
    }[which]
    reply = await accel.request(method, target, who, Range="bytes=0-1")
    assert_refused(reply, 404, "Video not found", method)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_a_missing_file_is_404_without_redirect(accel: AccelLibrary, method: str) -> None:
    item = await import_video(accel.owner, clip(160, 90, 1.0), "Gone from disk")
    stored_video(accel.server.settings.media_root, item["id"]).unlink()
    reply = await accel.request(method, f"/api/video/{item['id']}")
    assert_refused(reply, 404, "Video not found", method)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_a_stored_path_outside_the_media_directory_is_404_without_redirect(
    accel: AccelLibrary, method: str
) -> None:
    (row,) = await insert_generations(
        accel.engine,
        [generation_row(accel.owner.id, status="completed", video_path="../secret_key")],
    )
    reply = await accel.request(method, f"/api/video/{row['id']}")
    assert_refused(reply, 404, "Video not found", method)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("status", ["pending", "processing", "failed"])
async def test_a_video_that_is_not_ready_is_400_without_redirect(
    accel: AccelLibrary, method: str, status: str
) -> None:
    (row,) = await insert_generations(
        accel.engine,
        [generation_row(accel.owner.id, status=status, video_path=f"videos/{accel.id}.mp4")],
    )
    reply = await accel.request(method, f"/api/video/{row['id']}")
    assert_refused(reply, 400, "Video not ready", method)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_without_a_token_it_is_401_without_redirect(accel: AccelLibrary, method: str) -> None:
    reply = await exchange(accel.server.base_url, method, accel.url, {"Range": "bytes=0-1"})
    assert_refused(reply, 401, None, method)


async def test_thumbnails_are_still_served_by_the_app(accel: AccelLibrary) -> None:
    reply = await accel.request("GET", f"/api/thumbnail/{accel.id}")
    assert reply.status == 200
    assert "x-accel-redirect" not in reply.headers
    assert reply.headers["content-type"] == "image/jpeg"
    stored = accel.server.settings.media_root / "thumbnails" / f"{accel.id}.jpg"
    assert reply.body == stored.read_bytes()
