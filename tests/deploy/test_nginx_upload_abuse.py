"""Stalled and piled-up uploads through the real Nginx (our nginx.conf) in front of the app on
PostgreSQL: Nginx streams each body to the app as it arrives, so the app's own defences (no
database connection held, the idle cut-off, the per-account cap) must hold through it, and
Nginx adds a per-address bound of its own."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.api.test_upload_abuse import (
    StalledUpload,
    assert_nothing_left,
    bystander_answers,
    multipart_head,
    stalled_uploads,
    total,
    wait_until_nothing_left,
)
from tests.deploy.conftest import NginxDeployment, Stack
from tests.support.factories import register_and_login
from tests.support.media import clip
from tests.support.nginx import Nginx, nginx_in_front
from tests.support.servers import LiveServer, live_app

PER_ADDRESS = 32  # nginx.conf's limit_conn on uploads from one address


@dataclass
class Fronted:
    app: LiveServer
    nginx: Nginx


def stored_files(stack: Stack) -> NginxDeployment:
    """The stack's stored files, seen as the API suite's helpers see a deployment's."""
    return NginxDeployment("postgresql", stack.settings, stack.app)


@contextlib.contextmanager
def behind_nginx(stack: Stack, **overrides: object) -> Iterator[Fronted]:
    """An app on the stack's database and media, with these settings, behind its own Nginx.
    Its upload limit is 64 MiB, so the 10 MB that a stalled upload announces is allowed."""
    workdir = Path(tempfile.mkdtemp(prefix="reelvault-uploads-"))
    workdir.chmod(0o755)
    try:
        with (
            live_app(stack.settings, **({"max_upload_bytes": 64 * 1024**2} | overrides)) as app,
            nginx_in_front(app.port, app.settings, workdir) as nginx,
        ):
            yield Fronted(app, nginx)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


async def test_stalled_uploads_through_nginx_do_not_hold_the_app(stack: Stack) -> None:
    # More than the PostgreSQL pool holds (10 + 20), fewer than Nginx's per-address bound.
    stalled = 30
    with behind_nginx(stack, max_uploads_per_user=stalled, upload_idle_seconds=60) as front:
        attacker = await register_and_login(front.nginx.base_url)
        bystander = await register_and_login(front.nginx.base_url)
        async with stalled_uploads(front.nginx.base_url, attacker.token, stalled):
            await asyncio.sleep(0.5)
            await bystander_answers(front.nginx.base_url, bystander, within=5)
            await bystander_answers(front.app.base_url, bystander, within=5)


async def test_a_stalled_upload_through_nginx_gets_the_apps_408(stack: Stack) -> None:
    stored = stored_files(stack)
    before = stored.all_files()
    with behind_nginx(stack, upload_idle_seconds=1) as front:
        account = await register_and_login(front.nginx.base_url)
        prefix = multipart_head() + clip().read_bytes()[:100_000]
        async with stalled_uploads(front.nginx.base_url, account.token, 1, prefix) as (upload,):
            started = time.monotonic()
            answer = await upload.answer(within=10)
            took = time.monotonic() - started
        assert answer is not None, "Nginx closed the connection without an answer"
        assert answer.status == 408, answer
        assert answer.headers["content-type"] == "application/json"
        assert b"sent nothing for 1 seconds" in answer.body
        assert answer.headers["x-frame-options"] == "DENY"
        assert took < 5, f"cut off after {took:.1f} s"
        assert_nothing_left(stored, before)
        assert await total(account) == 0


async def test_the_apps_429_passes_through_nginx_with_one_retry_after(stack: Stack) -> None:
    with behind_nginx(stack, max_uploads_per_user=1, upload_idle_seconds=60) as front:
        account = await register_and_login(front.nginx.base_url)
        async with stalled_uploads(front.nginx.base_url, account.token, 1):
            await asyncio.sleep(0.3)
            async with stalled_uploads(front.nginx.base_url, account.token, 1) as (second,):
                answer = await second.answer(within=5)
        assert answer is not None and answer.status == 429, answer
        assert b"1 uploads in progress" in answer.body
        assert answer.header_names.count("retry-after") == 1


async def test_past_its_bound_of_uploads_one_address_gets_nginxs_429(stack: Stack) -> None:
    with behind_nginx(stack, max_uploads_per_user=PER_ADDRESS + 5, upload_idle_seconds=60) as front:
        account = await register_and_login(front.nginx.base_url)
        async with stalled_uploads(front.nginx.base_url, account.token, PER_ADDRESS):
            await asyncio.sleep(0.5)
            extra = await StalledUpload.start(
                front.nginx.base_url, account.token, multipart_head()[:100]
            )
            try:
                answer = await extra.answer(within=5)
            finally:
                await extra.close()
            assert answer is not None and answer.status == 429, answer
            assert answer.headers["content-type"] == "application/json"
            assert answer.headers["retry-after"] == "5"
            assert answer.header_names.count("retry-after") == 1
            assert b"Too many uploads from this address" in answer.body
            # Reads on the same path from the same address are not uploads: never counted.
            async with httpx.AsyncClient(base_url=front.nginx.base_url, timeout=5) as client:
                listing = await client.get("/api/generations", headers=account.auth)
            assert listing.status_code == 200, listing.text


async def test_an_upload_nginx_drops_leaves_nothing_and_frees_its_slot(stack: Stack) -> None:
    """The client goes away mid-file: Nginx closes its connection to the app, as it does when
    its own client_body_timeout fires, and the app drops the upload and its slot."""
    stored = stored_files(stack)
    before = stored.all_files()
    with behind_nginx(stack, max_uploads_per_user=1, upload_idle_seconds=60) as front:
        account = await register_and_login(front.nginx.base_url)
        prefix = multipart_head() + clip().read_bytes()[:100_000]
        async with stalled_uploads(front.nginx.base_url, account.token, 1, prefix):
            await asyncio.sleep(0.5)
        await wait_until_nothing_left(stored, before)
        async with httpx.AsyncClient(
            base_url=front.nginx.base_url, headers=account.auth, timeout=30
        ) as client:
            # The slot goes with the upload's last cleanup step, a moment after its files:
            # a loaded machine may still answer 429 for that moment, never for good.
            deadline = asyncio.get_running_loop().time() + 10
            while True:
                response = await client.post(
                    "/api/generations",
                    data={"prompt": "After the dropped one"},
                    files={"file": ("clip.mp4", clip(160, 90, 1.0).read_bytes(), "video/mp4")},
                )
                if response.status_code != 429 or asyncio.get_running_loop().time() > deadline:
                    break
                await asyncio.sleep(0.2)
        assert response.status_code == 201, response.text
