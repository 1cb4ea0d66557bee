"""Uploads as an attacker sends them: bodies that stall, more uploads than an account may run
at once, files past the storage quota, charsets nobody knows. None of it may hurt anyone else,
and none of it may leave anything behind."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import Deployment
from tests.support.factories import PASSWORD, Account
from tests.support.media import clip
from tests.support.servers import ROOT, LiveServer, free_port, live_app, settings_env

BOUNDARY = "reelvault-abuse-boundary"
ANNOUNCED = 10 * 1024 * 1024  # the Content-Length a stalled upload promises and never sends


def multipart_head(prompt: str = "Stalled upload") -> bytes:
    """A real import body up to the first byte of the file."""
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="prompt"\r\n\r\n{prompt}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="clip.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    header_names: list[str]  # as sent, repeats included


@dataclass
class StalledUpload:
    """A POST /api/generations that announces 10 MB, sends a prefix of it, and then nothing."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    @classmethod
    async def start(
        cls, base_url: str, token: str, prefix: bytes, announced: int = ANNOUNCED
    ) -> StalledUpload:
        url = urlsplit(base_url)
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        writer.write(
            (
                f"POST /api/generations HTTP/1.1\r\nHost: {url.netloc}\r\n"
                f"Authorization: Bearer {token}\r\n"
                f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
                f"Content-Length: {announced}\r\n\r\n"
            ).encode()
            + prefix
        )
        await writer.drain()
        return cls(reader, writer)

    async def answer(self, within: float) -> Answer | None:
        """The server's answer, or None where it closed the connection without one."""
        async with asyncio.timeout(within):
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = await self.reader.read(65536)
                if not chunk:
                    return None
                head += chunk
        raw_head, _, body = head.partition(b"\r\n\r\n")
        status_line, *lines = raw_head.decode("latin-1").split("\r\n")
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines)
        }
        length = int(headers.get("content-length", "0"))
        async with asyncio.timeout(within):
            while len(body) < length:
                chunk = await self.reader.read(65536)
                if not chunk:
                    break
                body += chunk
        names = [line.partition(":")[0].strip().lower() for line in lines]
        return Answer(int(status_line.split()[1]), headers, body, names)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


@contextlib.asynccontextmanager
async def stalled_uploads(
    base_url: str, token: str, count: int, prefix: bytes | None = None
) -> AsyncIterator[list[StalledUpload]]:
    """`count` stalled uploads of one account, open until the block ends."""
    prefix = multipart_head()[:100] if prefix is None else prefix
    uploads = [await StalledUpload.start(base_url, token, prefix) for _ in range(count)]
    try:
        yield uploads
    finally:
        for upload in uploads:
            await upload.close()


async def bystander_answers(base_url: str, bystander: Account, within: float) -> None:
    """Another account's listing and the readiness check answer 200 within `within` seconds."""
    async with httpx.AsyncClient(base_url=base_url, timeout=within) as client:
        started = time.monotonic()
        listing = await client.get("/api/generations", headers=bystander.auth)
        ready = await client.get("/health/ready")
        took = time.monotonic() - started
    assert listing.status_code == 200, listing.text
    assert ready.status_code == 200, ready.text
    assert took < within, f"the bystander waited {took:.1f} s"


def assert_nothing_left(deployment: Deployment, before: set[str]) -> None:
    after = deployment.all_files()
    assert after == before, f"left behind: {after - before}"
    assert not any(deployment.media.incoming_dir().iterdir()), "an import's work folder remains"


async def wait_until_nothing_left(
    deployment: Deployment, before: set[str], within: float = 10
) -> None:
    """An upload cut by the client is cleaned up by the server shortly after; wait for it."""
    deadline = time.monotonic() + within
    while True:
        try:
            assert_nothing_left(deployment, before)
            return
        # A folder the server removes while it is being listed: not yet settled.
        except (AssertionError, FileNotFoundError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def total(account: Account) -> int:
    listing = await account.client.get("/api/generations")
    assert listing.status_code == 200, listing.text
    return listing.json()["total"]


async def upload_clip(base_url: str, account: Account, path: Path) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base_url, headers=account.auth, timeout=30) as client:
        return await client.post(
            "/api/generations",
            data={"prompt": "Bystander import"},
            files={"file": ("clip.mp4", path.read_bytes(), "video/mp4")},
        )


@contextlib.contextmanager
def app_of(deployment: Deployment, **overrides: object) -> Iterator[LiveServer]:
    """Another app on the deployment's database and media, with these settings changed."""
    with live_app(deployment.settings, **overrides) as app:
        yield app


# --- 1. no database connection is held while a body streams ------------------------------------
# More stalled uploads than either pool holds (SQLite 20 + 20 overflow, PostgreSQL 10 + 20).
STALLED = 45


async def test_stalled_uploads_hold_no_database_connection(
    deployment: Deployment, account: Account, other_account: Account
) -> None:
    with app_of(deployment, max_uploads_per_user=STALLED, upload_idle_seconds=60) as app:
        async with stalled_uploads(app.base_url, account.token, STALLED):
            await asyncio.sleep(0.5)  # every handler is waiting for its body
            await bystander_answers(app.base_url, other_account, within=5)
            # The account's own reads, and another account's import, go on as well.
            async with httpx.AsyncClient(base_url=app.base_url, timeout=5) as client:
                own = await client.get("/api/generations", headers=account.auth)
            assert own.status_code == 200, own.text
            imported = await upload_clip(app.base_url, other_account, clip(160, 90, 1.0))
            assert imported.status_code == 201, imported.text


# --- 2. a body that makes no progress is cut off -----------------------------------------------
@pytest.mark.parametrize("where", ["in-the-headers-of-a-part", "in-the-file"])
async def test_a_stalled_body_is_cut_off_with_408_and_leaves_nothing(
    deployment: Deployment, account: Account, where: str
) -> None:
    # In the file, 200 KB of it are already on disk when the client stops.
    prefix = (
        multipart_head()[:100]
        if where == "in-the-headers-of-a-part"
        else multipart_head() + clip().read_bytes()[:200_000]
    )
    before = deployment.all_files()
    with app_of(deployment, upload_idle_seconds=1) as app:
        async with stalled_uploads(app.base_url, account.token, 1, prefix) as (upload,):
            started = time.monotonic()
            answer = await upload.answer(within=10)
            took = time.monotonic() - started
    assert answer is not None, "the server closed the connection without an answer"
    assert answer.status == 408, answer
    assert b"sent nothing for 1 seconds" in answer.body
    assert took < 5, f"cut off after {took:.1f} s"
    assert_nothing_left(deployment, before)
    assert await total(account) == 0


async def test_a_slow_but_steady_upload_is_not_cut_off(
    deployment: Deployment, account: Account
) -> None:
    """The cut-off is about silence, not about the total time an upload takes."""
    data = clip(160, 90, 1.0).read_bytes()
    body = multipart_head("Slow but steady") + data + f"\r\n--{BOUNDARY}--\r\n".encode()

    async def trickle() -> AsyncIterator[bytes]:
        step = len(body) // 6 + 1
        for start in range(0, len(body), step):
            yield body[start : start + step]
            await asyncio.sleep(0.5)  # each pause under the 2 s of silence allowed

    with app_of(deployment, upload_idle_seconds=2) as app:
        async with httpx.AsyncClient(base_url=app.base_url, headers=account.auth) as client:
            response = await client.post(
                "/api/generations",
                content=trickle(),
                headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
            )
    assert response.status_code == 201, response.text


async def test_a_client_that_goes_away_mid_upload_leaves_nothing_and_frees_its_slot(
    deployment: Deployment, account: Account
) -> None:
    before = deployment.all_files()
    with app_of(deployment, max_uploads_per_user=1, upload_idle_seconds=60) as app:
        prefix = multipart_head() + clip().read_bytes()[:100_000]
        async with stalled_uploads(app.base_url, account.token, 1, prefix):
            await asyncio.sleep(0.3)
        await wait_until_nothing_left(deployment, before)
        # The only slot of the account is free again.
        response = await upload_clip(app.base_url, account, clip(160, 90, 1.0))
    assert response.status_code == 201, response.text


# --- 3. a per-account cap on uploads in flight ---------------------------------------------
async def test_an_upload_past_the_accounts_cap_is_429_at_once_while_others_upload(
    deployment: Deployment, account: Account, other_account: Account
) -> None:
    media_root = deployment.settings.media_root
    with app_of(deployment, max_uploads_per_user=2, upload_idle_seconds=60) as app:
        async with stalled_uploads(app.base_url, account.token, 2):
            await asyncio.sleep(0.3)
            working = {p.name for p in (media_root / ".incoming").iterdir()}
            async with stalled_uploads(app.base_url, account.token, 1) as (third,):
                started = time.monotonic()
                answer = await third.answer(within=5)
                took = time.monotonic() - started
            assert answer is not None and answer.status == 429, answer
            assert int(answer.headers["retry-after"]) >= 1
            assert b"2 uploads in progress" in answer.body
            assert took < 4, f"refused after {took:.1f} s"  # before: no answer at all
            # Refused before anything of it was stored: no work folder of its own.
            assert {p.name for p in (media_root / ".incoming").iterdir()} <= working
            # Another account uploads meanwhile.
            response = await upload_clip(app.base_url, other_account, clip(160, 90, 1.0))
            assert response.status_code == 201, response.text
        # Once the two are gone, the account uploads again: no slot leaked.
        await asyncio.sleep(0.3)
        response = await upload_clip(app.base_url, account, clip(160, 90, 1.0))
        assert response.status_code == 201, response.text


async def test_the_cap_is_shared_by_every_process_and_a_killed_one_leaks_no_slot(
    deployment: Deployment, account: Account
) -> None:
    """Two app processes on one data directory, as the image's uvicorn workers are: an upload
    held by one counts in the other; when one is killed (SIGKILL: no clean-up runs), its
    slots are free at once."""
    env = {
        **os.environ,
        **settings_env(deployment.settings),
        "REELVAULT_SECRET_KEY": deployment.settings.signing_key(),
        "REELVAULT_MAX_UPLOADS_PER_USER": "1",
        "REELVAULT_UPLOAD_IDLE_SECONDS": "60",
    }
    with app_process(env) as first, app_process(env) as second:
        async with stalled_uploads(first.base_url, account.token, 1):
            await asyncio.sleep(0.5)
            async with stalled_uploads(second.base_url, account.token, 1) as (refused,):
                answer = await refused.answer(within=5)
            assert answer is not None and answer.status == 429, answer
            first.process.send_signal(signal.SIGKILL)
            first.process.wait()
            response = await upload_clip(second.base_url, account, clip(160, 90, 1.0))
            assert response.status_code == 201, response.text


@dataclass
class AppProcess:
    base_url: str
    process: subprocess.Popen[bytes]


@contextlib.contextmanager
def app_process(env: dict[str, str]) -> Iterator[AppProcess]:
    """The app in a uvicorn child process of its own, on a free port."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "reelvault.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        # A cold start (aiobotocore, PyAV, the app) takes half a minute on a loaded machine.
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the app process did not start")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base_url}/health/live", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        yield AppProcess(base_url, process)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# --- 4. the storage quota ----------------------------------------------------------------------
async def test_an_upload_past_the_storage_quota_is_413_and_leaves_nothing(
    deployment: Deployment, account: Account
) -> None:
    source = clip(160, 90, 1.0)
    with app_of(deployment, user_quota_bytes=source.stat().st_size * 3 // 2) as app:
        first = await upload_clip(app.base_url, account, source)
        assert first.status_code == 201, first.text
        before = deployment.all_files()
        second = await upload_clip(app.base_url, account, source)
        assert second.status_code == 413, second.text
        detail = second.json()["detail"]
        assert "exceeds your storage quota" in detail
        assert_nothing_left(deployment, before)
        # Refused while it streams: 64 MB announced without a length, stopped at the quota.
        async with httpx.AsyncClient(base_url=app.base_url, headers=account.auth) as client:
            streamed = await client.post(
                "/api/generations",
                content=endless_file(),
                headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
            )
        assert streamed.status_code == 413, streamed.text
        assert "exceeds your storage quota" in streamed.json()["detail"]
        assert_nothing_left(deployment, before)
    assert await total(account) == 1


async def endless_file(size: int = 64 * 1024 * 1024) -> AsyncIterator[bytes]:
    yield multipart_head("Too big for the quota")
    chunk = b"\0" * 65536
    for _ in range(size // len(chunk)):
        yield chunk
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


async def test_two_concurrent_uploads_cannot_both_pass_the_quota(
    deployment: Deployment, account: Account
) -> None:
    source = clip(160, 90, 1.0)
    quota = source.stat().st_size * 3 // 2  # room for one, not two
    before = deployment.all_files()
    with app_of(deployment, user_quota_bytes=quota, max_uploads_per_user=4) as app:
        for _ in range(3):
            answers = await asyncio.gather(
                upload_clip(app.base_url, account, source),
                upload_clip(app.base_url, account, source),
            )
            codes = sorted(answer.status_code for answer in answers)
            assert codes == [201, 413] or codes == [413, 413], [a.text for a in answers]
    listing = (await account.client.get("/api/generations")).json()
    assert listing["total"] == 1
    assert sum(item["file_size"] for item in listing["generations"]) <= quota
    stored = {
        path
        for item in listing["generations"]
        for path in await deployment.stored_paths(item["id"])
    }
    assert deployment.all_files() - before <= stored


async def test_without_a_quota_the_upload_limit_alone_applies(
    deployment: Deployment, account: Account
) -> None:
    source = clip(160, 90, 1.0)
    with app_of(deployment, user_quota_bytes=None) as app:
        for _ in range(2):
            response = await upload_clip(app.base_url, account, source)
            assert response.status_code == 201, response.text


async def test_an_account_deleted_while_its_upload_streams_gets_401_and_nothing_is_stored(
    deployment: Deployment, account: Account
) -> None:
    """The account was proven when the upload began; the insert proves it again, in its own
    transaction, so a deletion in between is a 401, not a foreign-key failure (500)."""
    before = deployment.all_files()
    body = multipart_head() + clip().read_bytes() + f"\r\n--{BOUNDARY}--\r\n".encode()
    held_back = len(f"--{BOUNDARY}--\r\n")
    with app_of(deployment, upload_idle_seconds=60) as app:
        upload = await StalledUpload.start(
            app.base_url, account.token, body[:-held_back], announced=len(body)
        )
        try:
            await asyncio.sleep(0.3)
            async with httpx.AsyncClient(base_url=app.base_url, headers=account.auth) as client:
                deleted = await client.request(
                    "DELETE", "/api/auth/me", json={"password": PASSWORD}
                )
            assert deleted.status_code == 204, deleted.text
            await upload.send(body[-held_back:])
            answer = await upload.answer(within=30)
        finally:
            await upload.close()
    assert answer is not None and answer.status == 401, answer
    assert_nothing_left(deployment, before)


# --- 5. an unknown charset ---------------------------------------------------------------------
@pytest.mark.parametrize("charset", ["x-bogus", "base64", "idna"])
async def test_a_charset_nobody_knows_is_400_not_500(
    deployment: Deployment, account: Account, charset: str
) -> None:
    before = deployment.all_files()
    body = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="prompt"\r\n'
            f"Content-Type: text/plain; charset={charset}\r\n\r\nA prompt\r\n"
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="clip.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        + clip().read_bytes()
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    response = await account.client.post(
        "/api/generations",
        content=body,
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["detail"] == (
        "A form field names a charset that cannot be read; send text fields as UTF-8"
    )
    assert_nothing_left(deployment, before)
    assert await total(account) == 0


async def test_a_known_charset_other_than_utf8_is_read(account: Account) -> None:
    body = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="prompt"\r\n'
            "Content-Type: text/plain; charset=iso-8859-1\r\n\r\n"
        ).encode()
        + "Café au lait".encode("iso-8859-1")
        + (
            f'\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
            'filename="clip.mp4"\r\nContent-Type: video/mp4\r\n\r\n'
        ).encode()
        + clip().read_bytes()
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    response = await account.client.post(
        "/api/generations",
        content=body,
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["prompt"] == "Café au lait"


async def test_the_openapi_document_names_the_uploads_new_answers(deployment: Deployment) -> None:
    async with httpx.AsyncClient(base_url=deployment.base_url) as client:
        document = (await client.get("/schema/openapi.json")).json()
    answers = document["paths"]["/api/generations"]["post"]["responses"]
    assert {"408", "413", "429"} <= set(answers)
