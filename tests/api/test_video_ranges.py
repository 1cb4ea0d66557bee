"""`GET`/`HEAD /api/video/{id}` and `GET /api/thumbnail/{id}` over real HTTP, on SQLite and
PostgreSQL: a table of range and conditional requests (the checklist of
`shared/reference/http-ranges.md`) against a real imported clip, every body compared byte for
byte with the stored file, then the 404/400/401 rules and the thumbnails.

Requests go out on a raw socket and are read to the closed connection, so a response is
checked for exactly its Content-Length and for nothing sent after it."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime

import httpx
import jwt
import pytest

from reelvault.accounts.auth import AUTH_COOKIE
from reelvault.generations.models import GenerationStatus
from tests.conftest import Deployment
from tests.support.factories import (
    PASSWORD,
    Account,
    generation_row,
    insert_generations,
    register_and_login,
)
from tests.support.media import clip
from tests.support.video_http import (
    Reply,
    exchange,
    import_video,
    multipart_boundary,
    parse_byteranges,
)

HUGE = "9" * 23  # past any 64-bit integer


@dataclass(frozen=True)
class Library:
    """One imported clip of one owner, as stored, and its validators as served."""

    deployment: Deployment
    owner: Account
    stranger: Account
    item: dict
    data: bytes
    etag: str
    last_modified: str

    @property
    def id(self) -> str:
        return self.item["id"]

    @property
    def url(self) -> str:
        return f"/api/video/{self.id}"

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def modified_at(self) -> int:
        return int(parsedate_to_datetime(self.last_modified).timestamp())

    def date(self, offset: int) -> str:
        """An HTTP-date `offset` seconds away from Last-Modified."""
        return formatdate(self.modified_at + offset, usegmt=True)

    async def fetch(self, method: str, headers: dict[str, str]) -> Reply:
        """The owner's request for the clip."""
        return await exchange(
            self.deployment.base_url, method, self.url, {**self.owner.auth, **headers}
        )


@pytest.fixture(scope="module")
async def library(deployment: Deployment) -> AsyncIterator[Library]:
    owner = await register_and_login(deployment.base_url)
    stranger = await register_and_login(deployment.base_url)
    item = await import_video(owner, clip(1280, 720, 4.0))
    video_path, _ = await deployment.stored_paths(item["id"])
    data = deployment.read_stored(video_path)
    assert 200_000 <= len(data) <= 500_000, len(data)
    plain = await exchange(deployment.base_url, "GET", f"/api/video/{item['id']}", owner.auth)
    assert plain.status == 200 and plain.body == data
    assert re.fullmatch(r'"[^"]+"', plain.headers["etag"])  # strong, so If-Range can use it
    yield Library(
        deployment,
        owner,
        stranger,
        item,
        data,
        plain.headers["etag"],
        plain.headers["last-modified"],
    )
    await owner.client.aclose()
    await stranger.client.aclose()


# --- the conformance table -----------------------------------------------------------------

Headers = Callable[[Library], dict[str, str]]
Spans = Callable[[int], list[tuple[int, int]]]  # from the file's size: inclusive (first, last)


@dataclass(frozen=True)
class Case:
    """A request's headers and what must come back: `spans` for a 206, in the order sent."""

    id: str
    headers: Headers
    status: int
    spans: Spans | None = None


def ranged(value: str | Callable[[int], str]) -> Headers:
    """Just a Range header; a callable gets the file's size."""
    return lambda lib: {"Range": value(lib.size) if callable(value) else value}


def disjoint(count: int, step: int = 2) -> str:
    """`count` one-byte ranges that neither overlap nor touch."""
    return "bytes=" + ",".join(f"{i * step}-{i * step}" for i in range(count))


def whole(n: int) -> list[tuple[int, int]]:
    return [(0, n - 1)]


CASES = [
    # Basic ranges (checklist 1-11)
    Case("no range", lambda lib: {}, 200),
    Case("safari probe 0-1", ranged("bytes=0-1"), 206, lambda n: [(0, 1)]),
    Case("0-0 is one byte", ranged("bytes=0-0"), 206, lambda n: [(0, 0)]),
    Case("a-b", ranged("bytes=1000-1999"), 206, lambda n: [(1000, 1999)]),
    Case("0- (chrome)", ranged("bytes=0-"), 206, whole),
    Case("a-", ranged("bytes=100-"), 206, lambda n: [(100, n - 1)]),
    Case("last byte n-1-", ranged(lambda n: f"bytes={n - 1}-"), 206, lambda n: [(n - 1, n - 1)]),
    Case("suffix -n", ranged("bytes=-500"), 206, lambda n: [(n - 500, n - 1)]),
    Case("suffix -1", ranged("bytes=-1"), 206, lambda n: [(n - 1, n - 1)]),
    Case("suffix longer than file", ranged(lambda n: f"bytes=-{n + 10}"), 206, whole),
    Case(
        "end clamped",
        ranged(lambda n: f"bytes={n - 10}-{n + 100_000}"),
        206,
        lambda n: [(n - 10, n - 1)],
    ),
    Case("end exactly n-1", ranged(lambda n: f"bytes=0-{n - 1}"), 206, whole),
    Case("n- is 416", ranged(lambda n: f"bytes={n}-"), 416),
    Case("past the end a-b is 416", ranged(lambda n: f"bytes={n + 1000}-{n + 2000}"), 416),
    Case("-0 is 416", ranged("bytes=-0"), 416),
    Case("only unsatisfiable specs", ranged(lambda n: f"bytes={n}-,-0,{n + 5}-{n + 9}"), 416),
    # Several ranges (checklist 12-18)
    Case(
        "satisfiable with unsatisfiable",
        ranged(lambda n: f"bytes=0-1,{n}-"),
        206,
        lambda n: [(0, 1)],
    ),
    Case("-0 with satisfiable", ranged("bytes=-0,10-19"), 206, lambda n: [(10, 19)]),
    Case("two ranges multipart", ranged("bytes=0-1,5-6"), 206, lambda n: [(0, 1), (5, 6)]),
    Case(
        "three ranges multipart",
        ranged(lambda n: f"bytes=0-99,{n // 2}-{n // 2 + 999},-100"),
        206,
        lambda n: [(0, 99), (n // 2, n // 2 + 999), (n - 100, n - 1)],
    ),
    Case("request order kept", ranged("bytes=50-59,0-9"), 206, lambda n: [(50, 59), (0, 9)]),
    Case("overlapping merged", ranged("bytes=0-9,5-14"), 206, lambda n: [(0, 14)]),
    Case("adjacent merged", ranged("bytes=0-9,10-19"), 206, lambda n: [(0, 19)]),
    Case(
        "merge keeps the earliest position",
        ranged("bytes=100-199,0-9,150-299"),
        206,
        lambda n: [(100, 299), (0, 9)],
    ),
    Case("0-,0-,0- is 200", ranged("bytes=0-,0-,0-"), 200),
    Case(
        "overlap adding up past the size is 200",
        ranged(lambda n: f"bytes=-{n // 2 + 1},0-{n // 2}"),
        200,
    ),
    Case(
        "16 ranges multipart",
        ranged(disjoint(16, step=100)),
        206,
        lambda n: [(i * 100, i * 100) for i in range(16)],
    ),
    Case("17 ranges is 200", ranged(disjoint(17, step=100)), 200),
    Case("200 one-byte ranges is 200", ranged(disjoint(200)), 200),
    Case("12 KB range header is 200", ranged("bytes=" + ",".join(["0-0"] * 3000)), 200),
    # Malformed headers (checklist 19-28)
    Case("bytes=abc", ranged("bytes=abc"), 200),
    Case("bytes=5-2", ranged("bytes=5-2"), 200),
    Case("bytes=5-4", ranged("bytes=5-4"), 200),
    Case("items=0-1", ranged("items=0-1"), 200),
    Case("bytes=", ranged("bytes="), 200),
    Case("bytes=-", ranged("bytes=-"), 200),
    Case("bytes=5", ranged("bytes=5"), 200),
    Case("no unit", ranged("0-1"), 200),
    Case("one bad spec spoils the set", ranged("bytes=0-1,x-2"), 200),
    Case("negative start", ranged("bytes=--5"), 200),
    Case("superscript digit", ranged("bytes=0-\u00b2"), 200),  # str.isdigit() says yes
    Case("Bytes=0-1", ranged("Bytes=0-1"), 206, lambda n: [(0, 1)]),
    Case("BYTES=0-1", ranged("BYTES=0-1"), 206, lambda n: [(0, 1)]),
    Case("space after =", ranged("bytes= 0-1"), 206, lambda n: [(0, 1)]),
    Case("spaces around comma", ranged("bytes=0-1 , 4-5"), 206, lambda n: [(0, 1), (4, 5)]),
    Case("tab after comma", ranged("bytes=0-1,\t4-5"), 206, lambda n: [(0, 1), (4, 5)]),
    Case("empty list elements", ranged("bytes=,0-1,,4-5,"), 206, lambda n: [(0, 1), (4, 5)]),
    Case("huge end", ranged(f"bytes=0-{HUGE}"), 206, whole),
    Case("huge start", ranged(f"bytes={HUGE}-"), 416),
    Case("huge both sides", ranged(f"bytes={HUGE}-{HUGE}"), 416),
    Case("huge suffix", ranged(f"bytes=-{HUGE}"), 206, whole),
    Case(
        "leading zeros", ranged("bytes=000000000000000000000000010-0019"), 206, lambda n: [(10, 19)]
    ),
    # If-Range (checklist 33-37)
    Case(
        "if-range current etag",
        lambda lib: {"Range": "bytes=0-1", "If-Range": lib.etag},
        206,
        lambda n: [(0, 1)],
    ),
    Case("if-range other etag", lambda lib: {"Range": "bytes=0-1", "If-Range": '"other"'}, 200),
    Case(
        "if-range weak etag", lambda lib: {"Range": "bytes=0-1", "If-Range": f"W/{lib.etag}"}, 200
    ),
    Case(
        "if-range exact last-modified",
        lambda lib: {"Range": "bytes=100-", "If-Range": lib.last_modified},
        206,
        lambda n: [(100, n - 1)],
    ),
    Case("if-range later date", lambda lib: {"Range": "bytes=0-1", "If-Range": lib.date(1)}, 200),
    Case(
        "if-range earlier date", lambda lib: {"Range": "bytes=0-1", "If-Range": lib.date(-1)}, 200
    ),
    Case("if-range garbage", lambda lib: {"Range": "bytes=0-1", "If-Range": "garbage"}, 200),
    Case("if-range without range", lambda lib: {"If-Range": lib.etag}, 200),
    # Conditional GET (checklist 38-43)
    Case("if-none-match current", lambda lib: {"If-None-Match": lib.etag}, 304),
    Case("if-none-match weak", lambda lib: {"If-None-Match": f"W/{lib.etag}"}, 304),
    Case("if-none-match list", lambda lib: {"If-None-Match": f'"x", {lib.etag}'}, 304),
    Case("if-none-match star", lambda lib: {"If-None-Match": "*"}, 304),
    Case("if-none-match other", lambda lib: {"If-None-Match": '"x"'}, 200),
    Case(
        "if-none-match other beats if-modified-since",
        lambda lib: {"If-None-Match": '"x"', "If-Modified-Since": lib.last_modified},
        200,
    ),
    Case("if-modified-since exact", lambda lib: {"If-Modified-Since": lib.last_modified}, 304),
    Case("if-modified-since later", lambda lib: {"If-Modified-Since": lib.date(60)}, 304),
    Case("if-modified-since earlier", lambda lib: {"If-Modified-Since": lib.date(-60)}, 200),
    Case("if-modified-since invalid", lambda lib: {"If-Modified-Since": "yesterday"}, 200),
    Case(
        "if-modified-since in asctime format",
        lambda lib: {
            "If-Modified-Since": parsedate_to_datetime(lib.last_modified).strftime(
                "%a %b %e %H:%M:%S %Y"
            )
        },
        304,
    ),
    Case(
        "if-none-match with range is 304",
        lambda lib: {"If-None-Match": lib.etag, "Range": "bytes=0-1"},
        304,
    ),
    Case("if-match other", lambda lib: {"If-Match": '"x"'}, 412),
    Case("if-match weak", lambda lib: {"If-Match": f"W/{lib.etag}"}, 412),
    Case(
        "if-match current with range",
        lambda lib: {"If-Match": lib.etag, "Range": "bytes=0-1"},
        206,
        lambda n: [(0, 1)],
    ),
    Case("if-unmodified-since earlier", lambda lib: {"If-Unmodified-Since": lib.date(-60)}, 412),
    Case("if-unmodified-since exact", lambda lib: {"If-Unmodified-Since": lib.last_modified}, 200),
    Case(
        "if-match current overrides if-unmodified-since",
        lambda lib: {"If-Match": lib.etag, "If-Unmodified-Since": lib.date(-60)},
        200,
    ),
]


def test_the_table_covers_at_least_45_distinct_requests() -> None:
    assert len(CASES) >= 45
    assert len({case.id for case in CASES}) == len(CASES)


def assert_validators(lib: Library, headers: dict[str, str]) -> None:
    assert headers["etag"] == lib.etag
    assert headers["last-modified"] == lib.last_modified
    assert headers["cache-control"] == "private"


def assert_representation(
    lib: Library, reply: Reply, expected: list[tuple[int, int]] | None
) -> None:
    """A 200 (expected None) or 206: the right headers and exactly the file's bytes."""
    headers = reply.headers
    assert_validators(lib, headers)
    assert headers["accept-ranges"] == "bytes"
    assert headers["content-disposition"] == f'attachment; filename="ad_{lib.id}.mp4"'
    assert "transfer-encoding" not in headers
    assert headers["content-length"] == str(len(reply.body))
    if expected is None:
        assert headers["content-type"] == "video/mp4"
        assert "content-range" not in headers
        assert reply.body == lib.data
    elif len(expected) == 1:
        ((first, last),) = expected
        assert headers["content-type"] == "video/mp4"
        assert headers["content-range"] == f"bytes {first}-{last}/{lib.size}"
        assert reply.body == lib.data[first : last + 1]
    else:
        assert "content-range" not in headers  # only the parts carry one
        parts = parse_byteranges(reply.body, multipart_boundary(headers["content-type"]))
        assert [(part.first, part.last) for part in parts] == expected
        for part in parts:
            assert part.content_type == "video/mp4"
            assert part.size == lib.size
            assert part.body == lib.data[part.first : part.last + 1]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_get_answers_as_the_table_says(library: Library, case: Case) -> None:
    reply = await library.fetch("GET", case.headers(library))
    assert reply.status == case.status, reply.body[:200]
    headers = reply.headers
    match case.status:
        case 200:
            assert_representation(library, reply, None)
        case 206:
            assert case.spans is not None
            assert_representation(library, reply, case.spans(library.size))
        case 304:
            assert reply.body == b""
            assert_validators(library, headers)
            assert headers.get("content-length", str(library.size)) == str(library.size)
            assert "content-range" not in headers
        case 416:
            assert headers["content-range"] == f"bytes */{library.size}"
            assert headers["etag"] == library.etag
            assert headers["content-length"] == str(len(reply.body))
            assert json.loads(reply.body)["status_code"] == 416
        case 412:
            assert headers["etag"] == library.etag
            assert headers["content-length"] == str(len(reply.body))
            assert json.loads(reply.body)["status_code"] == 412
        case _:
            pytest.fail(f"no rule for {case.status}")


def comparable(headers: dict[str, str]) -> dict[str, str]:
    """Headers minus what differs between any two responses: the date, the request id, and
    the random multipart boundary (whose length, and so Content-Length, is fixed)."""
    found = {k: v for k, v in headers.items() if k not in {"date", "x-request-id"}}
    if found.get("content-type", "").startswith("multipart/byteranges"):
        found["content-type"] = "multipart/byteranges; boundary=*"
    return found


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_head_answers_like_get_without_a_body(library: Library, case: Case) -> None:
    get = await library.fetch("GET", case.headers(library))
    head = await library.fetch("HEAD", case.headers(library))
    assert head.status == get.status == case.status
    assert comparable(head.headers) == comparable(get.headers)
    assert head.body == b""
    if "content-length" in get.headers:
        assert get.headers["content-length"] == str(len(get.body))


async def test_httpx_reads_the_same_bytes(library: Library) -> None:
    """An ordinary client, keep-alive included, agrees with the raw-socket reading."""
    client = library.owner.client
    assert (await client.get(library.url)).content == library.data
    head = await client.head(library.url, headers={"Range": "bytes=10-"})
    assert head.status_code == 206
    assert head.content == b""
    assert head.headers["content-length"] == str(library.size - 10)
    tail = await client.get(library.url, headers={"Range": "bytes=-1000"})
    assert tail.content == library.data[-1000:]


# --- who may read what ---------------------------------------------------------------------


def assert_error(reply: Reply, status: int, detail: str | None, method: str = "GET") -> None:
    """An error answer: JSON with the detail for a GET, nothing at all after a HEAD."""
    assert reply.status == status
    headers = reply.headers
    for name in ("content-range", "content-disposition", "x-accel-redirect", "etag"):
        assert name not in headers, name
    if method == "HEAD":
        assert reply.body == b""
        return
    assert headers["content-length"] == str(len(reply.body))
    body = json.loads(reply.body)
    assert body["status_code"] == status
    if detail is not None:
        assert body["detail"] == detail
    assert b"/videos/" not in reply.body and b"media" not in reply.body  # no paths leak


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize(
    "which",
    ["unknown", "foreign", "not a uuid", "digits", "uuid-ish"],
)
async def test_unknown_foreign_and_malformed_ids_are_404(
    library: Library, method: str, which: str
) -> None:
    target, who = {
        "unknown": (f"/api/video/{uuid.uuid4()}", library.owner),
        "foreign": (library.url, library.stranger),
        "not a uuid": ("/api/video/nope", library.owner),
        "digits": ("/api/video/1234", library.owner),
        "uuid-ish": (f"/api/video/{library.id}x", library.owner),
    }[which]
    reply = await exchange(
        library.deployment.base_url, method, target, {**who.auth, "Range": "bytes=0-1"}
    )
    assert_error(reply, 404, "Video not found", method)


async def test_a_completed_video_whose_file_is_gone_is_404(library: Library) -> None:
    item = await import_video(library.owner, clip(160, 90, 1.0), "Soon without a file")
    video_path, _ = await library.deployment.stored_paths(item["id"])
    library.deployment.remove_stored(video_path)
    for method in ("GET", "HEAD"):
        reply = await exchange(
            library.deployment.base_url, method, f"/api/video/{item['id']}", library.owner.auth
        )
        assert_error(reply, 404, "Video not found", method)


@pytest.mark.parametrize(
    "status", [s.value for s in GenerationStatus if s != GenerationStatus.COMPLETED]
)
async def test_a_video_that_is_not_completed_is_400(library: Library, status: str) -> None:
    # The row even points at a real file: the status alone must decide.
    relpath = f"videos/{library.id}.mp4"
    (row,) = await insert_generations(
        library.deployment.engine,
        [generation_row(library.owner.id, status=status, video_path=relpath)],
    )
    for method in ("GET", "HEAD"):
        reply = await exchange(
            library.deployment.base_url,
            method,
            f"/api/video/{row['id']}",
            {**library.owner.auth, "Range": "bytes=0-1"},
        )
        assert_error(reply, 400, "Video not ready", method)
    stranger = await exchange(
        library.deployment.base_url, "GET", f"/api/video/{row['id']}", library.stranger.auth
    )
    assert_error(stranger, 404, "Video not found")  # ownership before readiness


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("token", ["none", "garbage", "expired"])
async def test_without_a_valid_token_it_is_401(library: Library, method: str, token: str) -> None:
    headers = {"Range": "bytes=0-1"}
    if token == "garbage":
        headers["Authorization"] = "Bearer not-a-jwt"
    elif token == "expired":
        claims = jwt.decode(library.owner.token, options={"verify_signature": False})
        claims["exp"] = int(time.time()) - 10
        signed = jwt.encode(claims, library.deployment.settings.signing_key(), algorithm="HS256")
        headers["Authorization"] = f"Bearer {signed}"
    reply = await exchange(library.deployment.base_url, method, library.url, headers)
    assert_error(reply, 401, None, method)


async def test_the_httponly_cookie_alone_plays_the_video(library: Library) -> None:
    """What `<video src>` does: no Authorization header, only the login cookie."""
    async with httpx.AsyncClient(base_url=library.deployment.base_url) as browser:
        login = await browser.post(
            "/api/auth/login", json={"email": library.owner.email, "password": PASSWORD}
        )
        assert login.status_code == 200
        assert AUTH_COOKIE in browser.cookies
        probe = await browser.get(library.url, headers={"Range": "bytes=0-1"})
        assert probe.status_code == 206
        assert probe.content == library.data[:2]
        full = await browser.get(library.url)
        assert full.status_code == 200
        assert full.content == library.data
        head = await browser.head(library.url)
        assert head.status_code == 200
        assert head.headers["content-length"] == str(library.size)
    async with httpx.AsyncClient(base_url=library.deployment.base_url) as stranger_browser:
        stranger_browser.cookies.set(AUTH_COOKIE, library.stranger.token)
        assert (await stranger_browser.get(library.url)).status_code == 404


# --- thumbnails ----------------------------------------------------------------------------


async def test_thumbnail_is_the_stored_jpeg_with_cache_headers(library: Library) -> None:
    url = f"/api/thumbnail/{library.id}"
    assert library.item["thumbnail_url"].startswith(url + "?v=")
    reply = await exchange(library.deployment.base_url, "GET", url, library.owner.auth)
    assert reply.status == 200
    headers = reply.headers
    _, thumbnail_path = await library.deployment.stored_paths(library.id)
    assert reply.body == library.deployment.read_stored(thumbnail_path)
    assert reply.body[:3] == b"\xff\xd8\xff"
    assert headers["content-type"] == "image/jpeg"
    assert headers["content-length"] == str(len(reply.body))
    assert re.fullmatch(r'(W/)?"[^"]+"', headers["etag"])
    assert re.fullmatch(r"private, max-age=[1-9]\d*", headers["cache-control"])
    assert "content-encoding" not in headers

    again = await exchange(
        library.deployment.base_url,
        "GET",
        url,
        {**library.owner.auth, "If-None-Match": headers["etag"]},
    )
    assert again.status == 304
    assert again.body == b""
    assert again.headers["etag"] == headers["etag"]
    assert again.headers["cache-control"] == headers["cache-control"]

    other = await exchange(
        library.deployment.base_url, "GET", url, {**library.owner.auth, "If-None-Match": '"x"'}
    )
    assert other.status == 200
    assert other.body == reply.body


@pytest.mark.parametrize("which", ["none yet", "unknown", "malformed", "foreign", "no file"])
async def test_thumbnail_is_404_where_there_is_none(library: Library, which: str) -> None:
    who = library.owner
    if which == "none yet":
        (row,) = await insert_generations(
            library.deployment.engine, [generation_row(library.owner.id)]
        )
        target = f"/api/thumbnail/{row['id']}"
    elif which == "unknown":
        target = f"/api/thumbnail/{uuid.uuid4()}"
    elif which == "malformed":
        target = "/api/thumbnail/nope"
    elif which == "foreign":
        target, who = f"/api/thumbnail/{library.id}", library.stranger
    else:
        item = await import_video(library.owner, clip(160, 90, 1.0), "Thumbnail goes missing")
        _, thumbnail_path = await library.deployment.stored_paths(item["id"])
        library.deployment.remove_stored(thumbnail_path)
        target = f"/api/thumbnail/{item['id']}"
    reply = await exchange(library.deployment.base_url, "GET", target, who.auth)
    assert_error(reply, 404, None)


async def test_thumbnail_needs_a_token(library: Library) -> None:
    reply = await exchange(library.deployment.base_url, "GET", f"/api/thumbnail/{library.id}")
    assert_error(reply, 401, None)
