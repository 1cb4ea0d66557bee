"""Importing videos: real clips in, real files on disk, nothing left behind on any failure."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import av
import httpx
import pytest

from reelvault.media.atoms import moov_at_front
from reelvault.media.probe import probe
from reelvault.settings import Settings
from tests.conftest import Deployment
from tests.support.factories import Account, register_and_login
from tests.support.media import clip, media_files
from tests.support.servers import LiveServer, live_app


async def upload(
    account: Account,
    path: Path | None,
    prompt: str | None = "Studio product spin",
    *,
    filename: str = "clip.mp4",
    content_type: str = "video/mp4",
) -> httpx.Response:
    data = {} if prompt is None else {"prompt": prompt}
    files = None if path is None else {"file": (filename, path.read_bytes(), content_type)}
    return await account.client.post(
        "/api/generations", data=data, files=files or {"_": ("", b"", "text/plain")}
    )


def assert_nothing_left(deployment: Deployment, before: set[str]) -> None:
    after = deployment.all_files()
    assert after == before, f"left behind: {after - before}"
    assert not any(deployment.media.incoming_dir().iterdir())


async def count_rows(account: Account) -> int:
    return (await account.client.get("/api/generations")).json()["total"]


@pytest.mark.parametrize(
    ("width", "height"), [(360, 640), (640, 360), (480, 480)], ids=["9:16", "16:9", "1:1"]
)
async def test_import_stores_a_playable_completed_video(
    deployment: Deployment, account: Account, width: int, height: int
) -> None:
    source = clip(width, height, 2.0)
    response = await upload(account, source, "Sneaker launch, neon city")
    assert response.status_code == 201, response.text
    item = response.json()
    assert item["status"] == "completed"
    assert (item["width"], item["height"]) == (width, height)
    assert item["duration"] == 2
    assert item["prompt"] == "Sneaker launch, neon city"
    assert item["completed_at"] == item["created_at"]
    assert item["file_available"] is True
    assert item["video_url"].startswith(f"/api/video/{item['id']}?v=")
    assert item["thumbnail_url"] == f"/api/thumbnail/{item['id']}?v={item['video_url'][-12:]}"
    video_path, _ = await deployment.stored_paths(item["id"])
    stored = deployment.read_stored(video_path)
    assert item["file_size"] == len(stored)
    served = await account.client.get(item["video_url"])
    assert served.status_code == 200
    assert served.content == stored
    thumbnail = await account.client.get(item["thumbnail_url"])
    assert thumbnail.status_code == 200
    assert thumbnail.headers["content-type"] == "image/jpeg"
    assert thumbnail.content[:3] == b"\xff\xd8\xff"
    listed = (await account.client.get(f"/api/generations/{item['id']}")).json()
    assert listed == item


async def test_moov_at_the_end_comes_out_first_without_reencoding(
    deployment: Deployment, account: Account, tmp_path: Path
) -> None:
    source = clip(320, 240, 3.0, moov_at_end=True, with_audio=True)
    assert not moov_at_front(source)
    response = await upload(account, source)
    assert response.status_code == 201, response.text
    video_path, _ = await deployment.stored_paths(response.json()["id"])
    stored = tmp_path / "stored.mp4"
    stored.write_bytes(deployment.read_stored(video_path))
    assert moov_at_front(stored)
    before, after = probe(source), probe(stored)
    assert (after.width, after.height, after.video_codec) == (before.width, before.height, "h264")
    assert after.has_audio

    def video_packets(path: Path) -> list[bytes]:
        with av.open(str(path)) as container:
            return [bytes(p) for p in container.demux(video=0) if p.size]

    assert video_packets(stored) == video_packets(source)  # same bytes: remuxed, not re-encoded


@pytest.fixture
def text_file(tmp_path: Path) -> Path:
    path = tmp_path / "notes.mp4"
    path.write_text("This is not a video, whatever its name says.\n" * 50)
    return path


def png_image(tmp_path: Path) -> Path:
    path = tmp_path / "poster.png"
    with av.open(str(path), "w", format="image2") as container:
        stream = container.add_stream("png", rate=1)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "rgb24"
        frame = av.VideoFrame(64, 64, "rgb24")
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.mark.parametrize("kind", ["text", "png", "empty", "truncated", "random"])
async def test_what_is_not_a_playable_video_is_415_and_leaves_nothing(
    deployment: Deployment, account: Account, tmp_path: Path, kind: str
) -> None:
    if kind == "text":
        bad = tmp_path / "notes.mp4"
        bad.write_text("This is not a video, whatever its name says.\n" * 50)
    elif kind == "png":
        bad = png_image(tmp_path)
    elif kind == "empty":
        bad = tmp_path / "empty.mp4"
        bad.write_bytes(b"")
    elif kind == "truncated":
        whole = clip(320, 180, 2.0).read_bytes()
        bad = tmp_path / "truncated.mp4"
        bad.write_bytes(whole[: len(whole) // 2])
    else:
        bad = tmp_path / "noise.mp4"
        bad.write_bytes(uuid.uuid4().bytes * 4096)
    before = deployment.all_files()
    response = await upload(account, bad)
    assert response.status_code == 415, response.text
    assert "/" not in response.json()["detail"]  # no paths in messages
    assert await count_rows(account) == 0
    assert_nothing_left(deployment, before)


@pytest.mark.parametrize(
    ("prompt", "why"),
    [
        (None, "missing"),
        ("", "empty"),
        ("   ", "blank"),
        ("p" * 2001, "too long"),
        ("nul\x00", "NUL"),
    ],
)
async def test_bad_prompt_is_422_and_leaves_nothing(
    deployment: Deployment, account: Account, prompt: str | None, why: str
) -> None:
    before = deployment.all_files()
    response = await upload(account, clip(), prompt)
    assert response.status_code == 422, (why, response.text)
    assert await count_rows(account) == 0
    assert_nothing_left(deployment, before)


async def test_prompt_of_2000_characters_is_accepted(account: Account) -> None:
    response = await upload(account, clip(), "p" * 2000)
    assert response.status_code == 201, response.text


async def test_missing_file_is_422(deployment: Deployment, account: Account) -> None:
    before = deployment.all_files()
    response = await upload(account, None)
    assert response.status_code == 422
    assert_nothing_left(deployment, before)


async def test_a_body_that_is_not_multipart_is_refused(account: Account) -> None:
    # (A JSON body is a generation request: tests/api/test_generation_requests.py.)
    response = await account.client.post(
        "/api/generations", content=b"prompt=x", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert response.json()["detail"] == "Send the body as application/json or multipart/form-data"


async def test_import_needs_a_token(deployment: Deployment) -> None:
    async with httpx.AsyncClient(base_url=deployment.base_url) as anonymous:
        response = await anonymous.post(
            "/api/generations", data={"prompt": "x"}, files={"file": ("a.mp4", b"x", "video/mp4")}
        )
    assert response.status_code == 401


@pytest.fixture(scope="module")
def small_limit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("small-limit")
    settings = Settings(data_dir=workdir, max_upload_bytes=100_000).resolved()
    with live_app(settings, migrate=True) as server:
        yield server


@pytest.fixture
async def small_limit_account(small_limit_server: LiveServer) -> AsyncIterator[Account]:
    user = await register_and_login(small_limit_server.base_url)
    yield user
    await user.client.aclose()


async def streamed_body(size: int, boundary: str) -> AsyncIterator[bytes]:
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nBig\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    chunk = b"\0" * 65536
    for _ in range(size // len(chunk)):
        yield chunk
    yield f"\r\n--{boundary}--\r\n".encode()


async def test_over_the_limit_is_413_while_streaming_and_leaves_nothing(
    small_limit_server: LiveServer, small_limit_account: Account
) -> None:
    media_root = small_limit_server.settings.media_root
    before = media_files(media_root)
    boundary = "reelvault-test-boundary"
    # 64 MB announced without Content-Length: the server must stop reading at the limit.
    response = await small_limit_account.client.post(
        "/api/generations",
        content=streamed_body(64 * 1024 * 1024, boundary),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 413
    assert response.json()["detail"] == "The file is larger than the maximum upload size"
    assert media_files(media_root) == before
    assert (await small_limit_account.client.get("/api/generations")).json()["total"] == 0


async def test_a_file_under_the_limit_is_accepted_there(small_limit_account: Account) -> None:
    small = clip(160, 90, 1.0)
    assert small.stat().st_size < 100_000
    response = await upload(small_limit_account, small)
    assert response.status_code == 201, response.text
