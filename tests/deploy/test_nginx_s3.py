"""Nginx in front of the app in accel mode with the media in an object store (a real
S3-protocol server): the app authorises and plans, Nginx proxies the one GET it was told to
the store's presigned URL, with the slice cache off and on. Ranges, several ranges, 304, HEAD,
a missing object, the headers kept, and the presigned URL never reaching a client."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from reelvault.settings import Settings
from tests.support.factories import Account, register_and_login
from tests.support.media import clip
from tests.support.nginx import Nginx, nginx_binary, nginx_in_front, render_config
from tests.support.postgres import postgres_server
from tests.support.s3 import S3Server, s3_settings
from tests.support.servers import live_app
from tests.support.video_http import (
    Reply,
    exchange,
    import_video,
    multipart_boundary,
    parse_byteranges,
)

SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options")


@dataclass
class S3Stack:
    settings: Settings
    s3: S3Server
    nginx: Nginx
    cache: str

    def key(self, relpath: str) -> str:
        return self.settings.s3_prefix + relpath

    def stored(self, relpath: str) -> bytes:
        answer = self.s3.client().get_object(Bucket=self.settings.s3_bucket, Key=self.key(relpath))
        return answer["Body"].read()

    def store_etag(self, relpath: str) -> str:
        answer = self.s3.client().head_object(Bucket=self.settings.s3_bucket, Key=self.key(relpath))
        return answer["ETag"]


@pytest.fixture(scope="module", params=["off", "on"], ids=["no-cache", "slice-cache"])
def stack(request: pytest.FixtureRequest, s3: S3Server) -> Iterator[S3Stack]:
    nginx_binary()
    # Not under pytest's 0700 temporary root: Nginx's workers must reach web/.
    workdir = Path(tempfile.mkdtemp(prefix="reelvault-nginx-s3-"))
    workdir.chmod(0o755)
    try:
        with postgres_server() as server, server.database("reelvault_nginx_s3") as name:
            settings = Settings(
                data_dir=workdir / "data",
                database_url=server.url(name),
                media_delivery="accel",
            ).resolved()
            settings = s3_settings(settings, s3, s3.new_bucket(), s3_prefix="library/")
            settings.ensure_directories()
            with (
                live_app(settings, migrate=True) as app,
                nginx_in_front(
                    app.port, settings, workdir, {"REELVAULT_NGINX_S3_CACHE": request.param}
                ) as nginx,
            ):
                yield S3Stack(settings, s3, nginx, request.param)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@dataclass
class Video:
    stack: S3Stack
    owner: Account
    id: str
    relpath: str
    data: bytes

    async def get(self, method: str = "GET", **headers: str) -> Reply:
        wire = {"Authorization": f"Bearer {self.owner.token}", **headers}
        return await exchange(self.stack.nginx.base_url, method, f"/api/video/{self.id}", wire)


@pytest.fixture(scope="module")
async def video(stack: S3Stack) -> AsyncIterator[Video]:
    owner = await register_and_login(stack.nginx.base_url)
    item = await import_video(owner, clip(640, 360, 3.0), "Proxied from the store")
    listed = await owner.client.get(f"/api/generations/{item['id']}")
    assert listed.status_code == 200 and listed.json()["file_available"] is True
    relpath = _video_key(stack, item["id"])
    data = stack.stored(relpath)
    assert len(data) > 20_000
    yield Video(stack, owner, item["id"], relpath, data)
    await owner.client.aclose()


def _video_key(stack: S3Stack, generation_id: str) -> str:
    keys = stack.s3.keys(stack.settings.s3_bucket, stack.key(f"videos/{generation_id}"))
    assert len(keys) == 1, keys
    return keys[0][len(stack.settings.s3_prefix) :]


def traced() -> str:
    return f"s3-{uuid.uuid4().hex}"


def assert_nothing_of_the_store(reply: Reply) -> None:
    """No presigned URL, no internal instruction and none of the store's own headers."""
    names = {name for name, _ in reply.fields}
    assert not names & {"x-s3-url", "x-s3-range", "x-s3-slice", "x-accel-redirect"}, names
    assert not [name for name in names if name.startswith(("x-amz", "x-amzn"))], names
    assert "access-control-allow-origin" not in names
    assert b"X-Amz-Signature" not in reply.body
    for name in SECURITY_HEADERS:
        assert [field for field, _ in reply.fields].count(name) == 1, name


@pytest.mark.parametrize(
    ("value", "first", "last"),
    [
        (None, 0, -1),
        ("bytes=0-0", 0, 0),
        ("bytes=100-1099", 100, 1099),
        ("bytes=1000-", 1000, -1),
        ("bytes=-500", -500, -1),
    ],
)
async def test_nginx_proxies_what_the_app_planned_from_the_store(
    video: Video, value: str | None, first: int, last: int
) -> None:
    request_id = traced()
    reply = await video.get(**{"X-Request-ID": request_id}, **({"Range": value} if value else {}))
    size = len(video.data)
    first = size + first if first < 0 else first
    last = size - 1 if last < 0 else last
    headers = reply.headers
    assert reply.status == (206 if value else 200)
    assert reply.body == video.data[first : last + 1]
    assert headers["content-length"] == str(last - first + 1)
    if value:
        assert headers["content-range"] == f"bytes {first}-{last}/{size}"
    assert headers["content-type"] == "video/mp4"
    assert headers["content-disposition"] == f'attachment; filename="ad_{video.id}.mp4"'
    assert headers["cache-control"] == "private"
    assert headers["accept-ranges"] == "bytes"
    assert headers["etag"] == video.stack.store_etag(video.relpath)
    assert "last-modified" in headers
    assert headers["x-request-id"] == request_id
    assert_nothing_of_the_store(reply)
    # Nginx fetched the bytes from the store, after the app's authorisation.
    logged = video.stack.nginx.logged(request_id)
    location = "/_s3_sliced/" if video.stack.cache == "on" else "/_s3_media/"
    assert logged["uri"] == location + video.relpath
    assert logged["upstream_time"] not in ("", "-")


async def test_the_slice_cache_answers_a_second_request_itself(video: Video) -> None:
    await video.get(Range="bytes=2000-2999")
    request_id = traced()
    reply = await video.get(**{"X-Request-ID": request_id, "Range": "bytes=2000-2999"})
    assert reply.status == 206 and reply.body == video.data[2000:3000]
    logged = video.stack.nginx.logged(request_id)
    if video.stack.cache == "on":
        assert logged["cache"] == "HIT"
    else:
        assert logged["cache"] in ("", "-")
        assert logged["uri"] == f"/_s3_media/{video.relpath}"


async def test_several_ranges_are_multipart_from_the_app(video: Video) -> None:
    size = len(video.data)
    reply = await video.get(Range="bytes=0-99,1000-1099,-100")
    assert reply.status == 206
    parts = parse_byteranges(reply.body, multipart_boundary(reply.headers["content-type"]))
    assert [(p.first, p.last, p.size, p.body) for p in parts] == [
        (0, 99, size, video.data[:100]),
        (1000, 1099, size, video.data[1000:1100]),
        (size - 100, size - 1, size, video.data[-100:]),
    ]
    assert reply.headers["etag"] == video.stack.store_etag(video.relpath)
    assert_nothing_of_the_store(reply)


async def test_a_matching_if_none_match_is_304_without_a_body(video: Video) -> None:
    etag = (await video.get(Range="bytes=0-0")).headers["etag"]
    reply = await video.get(**{"If-None-Match": etag})
    assert reply.status == 304
    assert reply.body == b""
    assert reply.headers["etag"] == etag
    assert_nothing_of_the_store(reply)
    # An ETag of other bytes is no match: the whole video.
    other = await video.get(**{"If-None-Match": '"someone-else"'})
    assert other.status == 200 and other.body == video.data


async def test_a_stale_if_range_gets_the_whole_video(video: Video) -> None:
    reply = await video.get(Range="bytes=0-9", **{"If-Range": '"stale"'})
    assert reply.status == 200
    assert reply.body == video.data


@pytest.mark.parametrize("value", [None, "bytes=10-19", "bytes=0-9,20-29"])
async def test_head_answers_like_get_without_a_body(video: Video, value: str | None) -> None:
    headers = {"Range": value} if value else {}
    get = await video.get("GET", **headers)
    head = await video.get("HEAD", **headers)
    assert head.status == get.status
    assert head.body == b""
    skip = {"date", "x-request-id", "content-type", "connection"}
    assert {k: v for k, v in head.fields if k not in skip} == {
        k: v for k, v in get.fields if k not in skip
    }
    assert_nothing_of_the_store(head)


async def test_an_unsatisfiable_range_is_416_in_the_apis_error_shape(video: Video) -> None:
    reply = await video.get(Range="bytes=999999999-")
    assert reply.status == 416
    assert reply.headers["content-range"] == f"bytes */{len(video.data)}"
    assert reply.body == b'{"status_code":416,"detail":"Requested Range Not Satisfiable"}'


async def test_a_thumbnail_comes_from_the_store_through_the_app(video: Video) -> None:
    wire = {"Authorization": f"Bearer {video.owner.token}"}
    reply = await exchange(video.stack.nginx.base_url, "GET", f"/api/thumbnail/{video.id}", wire)
    assert reply.status == 200
    assert reply.headers["content-type"] == "image/jpeg"
    assert reply.body.startswith(b"\xff\xd8")
    assert_nothing_of_the_store(reply)


async def test_a_missing_object_is_the_apis_404(stack: S3Stack) -> None:
    owner = await register_and_login(stack.nginx.base_url)
    try:
        item = await import_video(owner, clip(320, 240, 1.0), "Lost behind the app's back")
        relpath = _video_key(stack, item["id"])
        stack.s3.client().delete_object(Bucket=stack.settings.s3_bucket, Key=stack.key(relpath))
        wire = {"Authorization": f"Bearer {owner.token}"}
        for method in ("GET", "HEAD"):
            reply = await exchange(stack.nginx.base_url, method, f"/api/video/{item['id']}", wire)
            assert reply.status == 404
            if method == "GET":
                assert reply.body == b'{"status_code":404,"detail":"Video not found"}'
            assert_nothing_of_the_store(reply)
    finally:
        await owner.client.aclose()


async def test_a_strangers_request_never_reaches_the_store(video: Video) -> None:
    stranger = await register_and_login(video.stack.nginx.base_url)
    try:
        request_id = traced()
        wire = {"Authorization": f"Bearer {stranger.token}", "X-Request-ID": request_id}
        reply = await exchange(video.stack.nginx.base_url, "GET", f"/api/video/{video.id}", wire)
        assert reply.status == 404
        assert_nothing_of_the_store(reply)
        assert video.stack.nginx.logged(request_id)["uri"] == f"/api/video/{video.id}"
    finally:
        await stranger.client.aclose()


async def test_the_internal_locations_are_not_reachable_from_outside(video: Video) -> None:
    for path in (f"/_s3_media/{video.relpath}", f"/_s3_sliced/{video.relpath}"):
        reply = await exchange(video.stack.nginx.base_url, "GET", path)
        assert reply.status == 404
        assert video.data[:1000] not in reply.body


@pytest.mark.parametrize(
    "env",
    [
        {"REELVAULT_NGINX_RESOLVER": "1.1.1.1; include /etc/passwd"},
        {"REELVAULT_NGINX_S3_CACHE": "yes"},
        {"REELVAULT_NGINX_S3_CACHE_MAX_SIZE": "1g; root /"},
        {"REELVAULT_NGINX_S3_CA": "/etc/ssl/certs/x.crt; include /etc/passwd"},
    ],
)
def test_render_refuses_s3_values_that_would_add_directives(env: dict[str, str]) -> None:
    with pytest.raises(subprocess.CalledProcessError):
        render_config({"REELVAULT_UPSTREAM": "app:8000", **env})


def test_render_defaults_leave_the_slice_cache_off_and_name_a_resolver() -> None:
    config = render_config({"REELVAULT_UPSTREAM": "app:8000"})
    assert 'set $reelvault_s3_slice "off:$upstream_http_x_s3_slice";' in config
    resolvers = re.findall(r"^\s*resolver (\S+) valid=60s;$", config, re.M)
    assert len(resolvers) == 2 and resolvers[0] == resolvers[1] != "${REELVAULT_NGINX_RESOLVER}"
    # An https store's certificate is verified wherever the system has its CA bundle.
    if Path("/etc/ssl/certs/ca-certificates.crt").is_file():
        assert config.count("proxy_ssl_verify on;") == 2


def test_render_without_a_ca_bundle_says_so_and_leaves_verification_off() -> None:
    config = render_config(
        {"REELVAULT_UPSTREAM": "app:8000", "REELVAULT_NGINX_S3_CA": "/nonexistent/ca.crt"}
    )
    assert config.count("proxy_ssl_verify off;") == 2
    assert "proxy_ssl_trusted_certificate" not in config
