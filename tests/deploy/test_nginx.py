"""What Nginx itself does in front of the app (nginx.conf): it sends the video bytes after the
app has said yes, keeps its internal location to itself, puts the security headers on every
answer, guards /metrics, limits and streams uploads, compresses text and never video, and
serves the gallery with the right caching."""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from tests.deploy.conftest import MAX_UPLOAD_BYTES, Stack
from tests.support.factories import Account, generation_row, insert_generations, register_and_login
from tests.support.media import clip
from tests.support.nginx import nginx_in_front, render_config
from tests.support.servers import ROOT, free_port

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "media-src 'self'; connect-src 'self'; font-src 'self'; manifest-src 'self'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}
TOO_LARGE = "The file is larger than the maximum upload size"


@dataclass
class Video:
    stack: Stack
    owner: Account
    stranger: Account
    id: str
    data: bytes

    @property
    def url(self) -> str:
        return f"/api/video/{self.id}"

    async def get(self, method: str = "GET", **headers: str) -> httpx.Response:
        return await self.owner.client.request(method, self.url, headers=headers)


@pytest.fixture(scope="module")
async def video(stack: Stack) -> AsyncIterator[Video]:
    owner = await register_and_login(stack.base_url)
    stranger = await register_and_login(stack.base_url)
    created = await owner.client.post(
        "/api/generations",
        data={"prompt": "Served by Nginx"},
        files={"file": ("clip.mp4", clip(640, 360, 3.0).read_bytes(), "video/mp4")},
    )
    assert created.status_code == 201, created.text
    item = created.json()
    data = (stack.settings.media_root / "videos" / f"{item['id']}.mp4").read_bytes()
    assert len(data) > 20_000
    yield Video(stack, owner, stranger, item["id"], data)
    await owner.client.aclose()
    await stranger.client.aclose()


def traced() -> str:
    return f"deploy-{uuid.uuid4().hex}"


def assert_security_headers(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get_list(name) == [value], (name, response.url)


def byteranges(response: httpx.Response) -> list[tuple[str, bytes]]:
    """The parts of a multipart/byteranges body: (Content-Range, bytes)."""
    found = re.search(r"boundary=(\S+)", response.headers["content-type"])
    assert found, response.headers["content-type"]
    delimiter = b"--" + found.group(1).encode()
    chunks = response.content.split(delimiter)
    assert chunks[0].strip() == b"" and chunks[-1].strip() == b"--"
    parts = []
    for chunk in chunks[1:-1]:
        head, _, body = chunk.partition(b"\r\n\r\n")
        assert body.endswith(b"\r\n")
        headers = dict(
            line.split(": ", 1) for line in head.decode().strip().splitlines() if ": " in line
        )
        assert headers["Content-Type"] == "video/mp4"
        parts.append((headers["Content-Range"], body[:-2]))
    return parts


# --- the video bytes come from Nginx ---------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "first", "last"),
    [(None, 0, -1), ("bytes=0-0", 0, 0), ("bytes=100-1099", 100, 1099), ("bytes=1000-", 1000, -1)],
)
async def test_nginx_sends_the_bytes_the_app_authorised(
    video: Video, value: str | None, first: int, last: int
) -> None:
    request_id = traced()
    headers = {"X-Request-ID": request_id} | ({"Range": value} if value else {})
    response = await video.get(**headers)
    size = len(video.data)
    last = size - 1 if last < 0 else last
    assert response.status_code == (206 if value else 200)
    assert response.content == video.data[first : last + 1]
    assert response.headers["content-length"] == str(last - first + 1)
    if value:
        assert response.headers["content-range"] == f"bytes {first}-{last}/{size}"
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["content-disposition"] == f'attachment; filename="ad_{video.id}.mp4"'
    assert response.headers["cache-control"] == "private"
    assert response.headers.get_list("accept-ranges") == ["bytes"]
    assert response.headers["x-request-id"] == request_id
    assert "etag" in response.headers and "last-modified" in response.headers
    assert "x-accel-redirect" not in response.headers
    # The request ended in the internal media location: Nginx read the file, not the app.
    logged = video.stack.nginx.logged(request_id)
    assert logged["uri"] == f"{video.stack.settings.accel_prefix}videos/{video.id}.mp4"
    assert logged["upstream_time"] not in ("", "-")  # after the app's authorisation


async def test_several_ranges_are_multipart_byteranges(video: Video) -> None:
    size = len(video.data)
    response = await video.get(Range="bytes=0-99,1000-1099,-100")
    assert response.status_code == 206
    assert response.headers["content-type"].startswith("multipart/byteranges; boundary=")
    assert "content-range" not in response.headers
    # Nginx may still answer several ranges with a 200 that has it: never sent twice.
    assert response.headers.get_list("accept-ranges") in ([], ["bytes"])
    assert byteranges(response) == [
        (f"bytes 0-99/{size}", video.data[:100]),
        (f"bytes 1000-1099/{size}", video.data[1000:1100]),
        (f"bytes {size - 100}-{size - 1}/{size}", video.data[-100:]),
    ]


@pytest.mark.parametrize("value", ["bytes=999999999-", "bytes=-0"])
async def test_an_unsatisfiable_range_is_416_in_the_apis_error_shape(
    video: Video, value: str
) -> None:
    response = await video.get(Range=value)
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(video.data)}"
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status_code": 416, "detail": "Requested Range Not Satisfiable"}
    assert response.headers.get_list("accept-ranges") == ["bytes"]
    assert_security_headers(response)


@pytest.mark.parametrize("value", ["bytes=abc", "bytes=0-1,x-2", "bytes=--5", "bytes=0-1,\t4-5"])
async def test_a_range_nginx_cannot_parse_gets_the_whole_file(video: Video, value: str) -> None:
    response = await video.get(Range=value)
    assert response.status_code == 200
    assert response.content == video.data
    assert response.headers.get_list("accept-ranges") == ["bytes"]
    assert "content-range" not in response.headers


@pytest.mark.parametrize(
    "value",
    [
        "bytes=0-,0-,0-",  # overlaps adding up past the size
        "bytes=" + ",".join(f"{i * 10}-{i * 10}" for i in range(17)),  # more than max_ranges
        "bytes=" + ",".join(["0-0"] * 3000),  # a 12 KB header line
    ],
    ids=["overlaps", "17 ranges", "12 KB"],
)
async def test_abusive_ranges_get_the_whole_file_with_one_accept_ranges(
    video: Video, value: str
) -> None:
    response = await video.get(Range=value)
    assert response.status_code == 200
    assert response.content == video.data
    assert response.headers.get_list("accept-ranges") == ["bytes"]


@pytest.mark.parametrize("value", [None, "bytes=10-19", "bytes=0-9,20-29", "bytes=99999999-"])
async def test_head_answers_like_get_without_a_body(video: Video, value: str | None) -> None:
    headers = {"Range": value} if value else {}
    get = await video.get("GET", **headers)
    head = await video.get("HEAD", **headers)

    def comparable(response: httpx.Response) -> dict[str, str]:
        found = {k: v for k, v in response.headers.items() if k not in {"date", "x-request-id"}}
        found["content-type"] = re.sub(r"boundary=\S+", "boundary=*", found["content-type"])
        return found

    assert head.status_code == get.status_code
    assert comparable(head) == comparable(get)
    assert head.content == b""


async def test_conditional_requests_are_answered_by_nginx(video: Video) -> None:
    first = await video.get()
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert (await video.get(**{"If-None-Match": etag})).status_code == 304
    assert (await video.get(**{"If-Modified-Since": modified})).status_code == 304
    resumed = await video.get(Range="bytes=500-", **{"If-Range": etag})
    assert resumed.status_code == 206
    assert resumed.content == video.data[500:]
    changed = await video.get(Range="bytes=500-", **{"If-Range": '"another"'})
    assert changed.status_code == 200
    assert changed.content == video.data
    refused = await video.get(**{"If-Match": '"another"'})
    assert refused.status_code == 412
    assert refused.json() == {"status_code": 412, "detail": "Precondition Failed"}


# --- nobody reaches a file without the app's yes ----------------------------------------------


async def test_a_foreign_video_is_404_and_nginx_never_opens_the_file(video: Video) -> None:
    request_id = traced()
    response = await video.stranger.client.get(video.url, headers={"X-Request-ID": request_id})
    assert response.status_code == 404
    assert response.json()["detail"] == "Video not found"
    assert video.data[:64] not in response.content
    logged = video.stack.nginx.logged(request_id)
    assert logged["uri"] == video.url  # never redirected to the media location
    assert logged["status"] == 404


async def test_without_a_token_it_is_401_and_never_reaches_the_file(video: Video) -> None:
    request_id = traced()
    async with httpx.AsyncClient(base_url=video.stack.base_url) as anonymous:
        response = await anonymous.get(video.url, headers={"X-Request-ID": request_id})
    assert response.status_code == 401
    assert video.stack.nginx.logged(request_id)["uri"] == video.url


async def test_the_internal_locations_cannot_be_requested(video: Video) -> None:
    prefix = video.stack.settings.accel_prefix
    relpath = f"videos/{video.id}.mp4"
    attempts = [
        f"{prefix}{relpath}",
        f"{prefix.replace('_', '%5F', 1)}{relpath}",  # decoded before locations are matched
        f"/api/video/..{prefix}{relpath}",  # normalised before locations are matched
        f"/_reelvault/whole/{relpath}",
        "/_reelvault/416",
        "/_reelvault/412",
    ]
    async with httpx.AsyncClient(base_url=video.stack.base_url) as client:
        for path in attempts:
            response = await client.get(path, headers=video.owner.auth)
            assert response.status_code == 404, path
            assert video.data[:64] not in response.content


# --- headers on every answer ------------------------------------------------------------------


async def test_security_headers_on_pages_api_video_and_errors(video: Video) -> None:
    base = video.stack.base_url
    async with httpx.AsyncClient(base_url=base) as anonymous:
        answers = [
            await anonymous.get("/"),
            await anonymous.get("/login"),
            await anonymous.get("/css/tokens.css"),
            await anonymous.get("/no-such-page"),
            await anonymous.get("/api/generations"),  # 401 from the app
            await anonymous.get("/health/ready"),
            await anonymous.get("/schema/openapi.json"),
        ]
    answers += [
        await video.owner.client.get("/api/generations"),
        await video.get(),
        await video.get(Range="bytes=0-9"),
        await video.get(Range="bytes=0-9,20-29"),
        await video.get(Range="bytes=999999999-"),
        await video.get("HEAD"),
        await video.get(**{"If-Match": '"another"'}),
        await video.stranger.client.get(video.url),
    ]
    statuses = {response.status_code for response in answers}
    assert statuses == {200, 206, 401, 404, 412, 416}
    for response in answers:
        assert_security_headers(response)


async def test_request_ids_pass_through_nginx_both_ways(video: Video) -> None:
    kept = await video.owner.client.get("/api/auth/me", headers={"X-Request-ID": "edge-42.a"})
    assert kept.headers.get_list("x-request-id") == ["edge-42.a"]
    assert video.stack.nginx.logged("edge-42.a")["status"] == 200
    made = await video.owner.client.get("/api/auth/me")
    made_id = made.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made_id)
    assert video.stack.nginx.logged(made_id)["uri"] == "/api/auth/me"  # Nginx's own id


# --- /metrics ---------------------------------------------------------------------------------


def client_from(address: str, base_url: str) -> httpx.AsyncClient:
    """A client whose connections leave from `address` (any of 127.0.0.0/8 works on Linux)."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(transport=transport, base_url=base_url)


async def test_metrics_only_for_the_local_network(stack: Stack) -> None:
    async with client_from("127.0.0.1", stack.base_url) as local:
        allowed = await local.get("/metrics")
    assert allowed.status_code == 200
    assert "reelvault_requests_total" in allowed.text
    # 127.0.0.2 is a loopback address too, but not one nginx.conf allows: it stands in for
    # any address outside the allowed networks. Nginx refuses before the app is asked, and a
    # forged X-Forwarded-For changes nothing.
    async with client_from("127.0.0.2", stack.base_url) as outsider:
        for headers in ({}, {"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1"}):
            request_id = traced()
            refused = await outsider.get(
                "/metrics", headers={"X-Request-ID": request_id, **headers}
            )
            assert refused.status_code == 403
            assert "reelvault_" not in refused.text
            assert stack.nginx.logged(request_id)["upstream_time"] == ""


async def test_nginx_replaces_a_forged_forwarded_for(stack: Stack) -> None:
    forged = {"X-Forwarded-For": "8.8.8.8"}  # public (documentation ranges are "private")
    # The app believes the address its proxy gives (uvicorn trusts 127.0.0.1) ...
    async with httpx.AsyncClient(base_url=stack.app.base_url) as direct:
        assert (await direct.get("/metrics", headers=forged)).status_code == 403
    # ... and Nginx gives the address the request came from, not the client's claim.
    async with httpx.AsyncClient(base_url=stack.base_url) as proxied:
        assert (await proxied.get("/metrics", headers=forged)).status_code == 200


# --- uploads ----------------------------------------------------------------------------------


def multipart(boundary: str, prompt: str) -> tuple[bytes, bytes]:
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="prompt"\r\n\r\n{prompt}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="c.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    return head, f"\r\n--{boundary}--\r\n".encode()


async def test_a_body_over_nginxs_limit_is_413_before_the_app_sees_it(
    stack: Stack, video: Video
) -> None:
    boundary = "deploy-boundary"
    head, tail = multipart(boundary, "Too big")
    body = head + b"\0" * (MAX_UPLOAD_BYTES + 2 * 1024 * 1024) + tail  # past the 1 MiB envelope
    request_id = traced()
    response = await video.owner.client.post(
        "/api/generations",
        content=body,
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "X-Request-ID": request_id,
        },
    )
    assert response.status_code == 413
    assert response.json() == {"status_code": 413, "detail": TOO_LARGE}
    assert_security_headers(response)
    assert stack.nginx.logged(request_id)["upstream_time"] == ""  # the app was never asked
    assert not any(stack.settings.media_root.joinpath(".incoming").iterdir())


async def test_a_streamed_file_over_the_apps_limit_is_413_from_the_app(
    stack: Stack, video: Video
) -> None:
    boundary = "deploy-boundary"
    head, tail = multipart(boundary, "A bit too big")

    async def body() -> AsyncIterator[bytes]:  # chunked: Nginx cannot know the size up front
        yield head
        for _ in range(MAX_UPLOAD_BYTES // 65536 + 8):
            yield b"\0" * 65536
        yield tail

    request_id = traced()
    response = await video.owner.client.post(
        "/api/generations",
        content=body(),
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "X-Request-ID": request_id,
        },
    )
    assert response.status_code == 413
    assert response.json()["detail"] == TOO_LARGE
    assert stack.nginx.logged(request_id)["upstream_time"] != ""
    assert not any(stack.settings.media_root.joinpath(".incoming").iterdir())


async def test_an_upload_reaches_the_app_while_it_is_still_being_sent(
    stack: Stack, video: Video
) -> None:
    """With request buffering on, Nginx would hold the whole body before the app saw a byte,
    and this upload, which waits for the app to have written its first part, would hang."""
    data = clip(640, 360, 3.0).read_bytes()
    boundary = "deploy-boundary"
    head, tail = multipart(boundary, "Streamed through Nginx")
    incoming = stack.settings.media_root / ".incoming"

    def partial_uploads() -> list[Path]:
        return [p for p in incoming.glob("*/upload") if p.is_file() and p.stat().st_size > 0]

    async def body() -> AsyncIterator[bytes]:
        yield head + data[: len(data) // 2]
        for _ in range(500):
            if partial_uploads():
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("the app got nothing of the upload while it was being sent")
        yield data[len(data) // 2 :] + tail

    response = await video.owner.client.post(
        "/api/generations",
        content=body(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 201, response.text
    stored = stack.settings.media_root / "videos" / f"{response.json()['id']}.mp4"
    assert stored.stat().st_size == response.json()["file_size"]


# --- compression ------------------------------------------------------------------------------


async def test_gzip_for_json_js_and_css_but_not_video(stack: Stack, video: Video) -> None:
    # The rows go into the database of `video`'s stack (one app behind Nginx), whichever
    # deployment the rest of the module runs against.
    engine = create_async_engine(stack.settings.database_url)
    try:
        rows = [generation_row(video.owner.id, prompt=f"row {i}") for i in range(12)]
        await insert_generations(engine, rows)
    finally:
        await engine.dispose()
    gzip = {"Accept-Encoding": "gzip"}
    listing = await video.owner.client.get("/api/generations", headers=gzip)
    assert listing.headers["content-type"] == "application/json"
    assert listing.headers.get("content-encoding") == "gzip"
    assert listing.json()["total"] >= 12  # httpx decodes it
    async with httpx.AsyncClient(base_url=stack.base_url) as anonymous:
        for path in ("/js/main.js", "/css/tokens.css", "/schema/openapi.json"):
            response = await anonymous.get(path, headers=gzip)
            assert response.headers.get("content-encoding") == "gzip", path
            assert "accept-encoding" in response.headers.get("vary", "").lower(), path
    for headers in ({}, {"Range": "bytes=0-99"}, {"Range": "bytes=0-9,20-29"}):
        response = await video.get(**gzip, **headers)
        assert "content-encoding" not in response.headers, headers
    whole = await video.get(**gzip)
    assert whole.content == video.data


# --- the gallery's files ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/login", "/gallery", f"/gallery/{uuid.uuid4()}"])
async def test_the_page_and_its_client_routes_are_index_html_never_cached_stale(
    stack: Stack, path: str
) -> None:
    index = (ROOT / "web" / "index.html").read_bytes()
    async with httpx.AsyncClient(base_url=stack.base_url) as browser:
        page = await browser.get(path)
        assert page.status_code == 200
        assert page.content == index
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert page.headers["cache-control"] == "no-cache"
        again = await browser.get(path, headers={"If-None-Match": page.headers["etag"]})
        assert again.status_code == 304


@pytest.mark.parametrize("path", ["/gallery/a/b", "/no-such-file.js", "/apis"])
async def test_other_paths_are_404(stack: Stack, path: str) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url) as browser:
        assert (await browser.get(path)).status_code == 404


@pytest.mark.parametrize("path", ["/gallery/a/b", "/nope", "/js/missing.js"])
async def test_a_browser_gets_the_page_with_status_404_for_a_wrong_address(
    stack: Stack, path: str
) -> None:
    index = (ROOT / "web" / "index.html").read_bytes()
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    async with httpx.AsyncClient(base_url=stack.base_url) as browser:
        page = await browser.get(path, headers={"Accept": accept})
        assert page.status_code == 404
        assert page.content == index
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert "content-security-policy" in page.headers
        # No Last-Modified: nothing for a cache to keep it fresh by.
        assert "last-modified" not in page.headers
        # Not for API clients, and never under /api/ (the app's JSON error).
        other = await browser.get(path, headers={"Accept": "application/json"})
        assert other.status_code == 404
        assert other.content != index
        api = await browser.get("/api/nope", headers={"Accept": accept})
        assert api.status_code in (401, 404)
        assert api.headers["content-type"].startswith("application/json")


async def test_assets_revalidate_unless_their_url_names_a_version(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url) as browser:
        script = await browser.get("/js/main.js")
        assert script.status_code == 200
        assert script.content == (ROOT / "web" / "js" / "main.js").read_bytes()
        assert script.headers["content-type"] == "text/javascript; charset=utf-8"
        assert script.headers["cache-control"] == "no-cache"
        assert "last-modified" in script.headers
        revalidated = await browser.get(
            "/js/main.js", headers={"If-None-Match": script.headers["etag"]}
        )
        assert revalidated.status_code == 304
        versioned = await browser.get("/js/main.js?v=3f2a9c")
        assert versioned.headers["cache-control"] == "max-age=31536000"


# --- the configuration itself -----------------------------------------------------------------


def test_every_placeholder_of_nginx_conf_is_rendered() -> None:
    """The container's defaults leave nothing unrendered: the script's list is complete."""
    rendered = render_config({})
    assert "${" not in rendered
    assert "listen 8080;" in rendered
    assert "server app:8000;" in rendered
    assert f"client_max_body_size {2 * 1024**3 + 1024**2};" in rendered
    assert "alias /data/media/;" in rendered


async def test_an_app_that_is_down_is_a_502_in_the_apis_shape(stack: Stack) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="reelvault-nginx-down-"))
    try:
        with nginx_in_front(free_port(), stack.settings, workdir) as nginx:
            async with httpx.AsyncClient(base_url=nginx.base_url) as client:
                response = await client.get("/api/generations")
                page = await client.get("/login")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    assert response.status_code == 502
    assert response.json()["status_code"] == 502
    assert_security_headers(response)
    assert page.status_code == 200  # the gallery's files do not need the app
