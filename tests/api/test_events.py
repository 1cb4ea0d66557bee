"""`GET /api/generations/events`: each owner's changes, live, once committed, and nothing of
anyone else's; on PostgreSQL across app processes, through a lost listener, past a client that
stops reading."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from reelvault.events import emit
from reelvault.events.listener import APPLICATION_NAME
from tests.conftest import Deployment
from tests.support.factories import Account, register_and_login
from tests.support.faults import deleting_cannot_commit
from tests.support.media import clip
from tests.support.servers import live_app
from tests.support.sse import subscribed

EVENTS = "/api/generations/events"


async def imported(client: httpx.AsyncClient, prompt: str = "Live event") -> dict:
    response = await client.post(
        "/api/generations",
        data={"prompt": prompt},
        files={"file": ("clip.mp4", clip(320, 180, 1.0).read_bytes(), "video/mp4")},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_subscriber_sees_its_own_imports_and_deletions_and_nothing_else(
    deployment: Deployment, account: Account, other_account: Account
) -> None:
    async with (
        subscribed(account.client) as mine,
        subscribed(other_account.client) as theirs,
    ):
        item = await imported(account.client, "Mine, live")
        created = await mine.next_event()
        assert created.event == "generation"
        assert created.json == item  # exactly the GenerationItem the API answered
        assert created.id

        someone_elses = await imported(other_account.client, "Theirs, live")
        assert (await theirs.next_event()).json == someone_elses

        deleted = await account.client.delete(f"/api/generations/{item['id']}")
        assert deleted.status_code == 200
        gone = await mine.next_event()
        assert (gone.event, gone.json) == ("deleted", {"generation_id": item["id"]})
        assert gone.id and gone.id != created.id

        # The other account saw its own import only, and this one nothing of theirs.
        assert await theirs.events_for(0.5) == []
        assert await mine.events_for(0.2) == []


async def test_the_events_path_is_not_read_as_a_generation_id(
    deployment: Deployment, account: Account
) -> None:
    async with subscribed(account.client) as stream:
        assert stream.response.headers["cache-control"] == "no-cache"
        assert stream.response.headers["x-accel-buffering"] == "no"
        assert "content-encoding" not in stream.response.headers
    # The neighbours still answer as before.
    assert (await account.client.get(f"/api/generations/{uuid.uuid4()}")).status_code == 404
    assert (await account.client.get("/api/generations/events-not")).status_code == 404


async def test_a_stream_needs_a_token_and_answers_401_in_the_api_shape(
    deployment: Deployment, account: Account
) -> None:
    async with httpx.AsyncClient(base_url=deployment.base_url) as anonymous:
        response = await anonymous.get(EVENTS)
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["status_code"] == 401
        forged = await anonymous.get(EVENTS, headers={"Authorization": "Bearer not-a-token"})
        assert forged.status_code == 401


async def test_the_auth_cookie_opens_a_stream_as_an_event_source_sends_it(
    deployment: Deployment, account: Account
) -> None:
    async with (
        httpx.AsyncClient(
            base_url=deployment.base_url, cookies={"reelvault_token": account.token}
        ) as browser,
        subscribed(browser, headers={"Accept": "text/event-stream"}) as stream,
    ):
        item = await imported(account.client)
        assert (await stream.next_event()).json["id"] == item["id"]


async def test_a_comment_arrives_at_every_ping_interval_events_or_not(
    deployment: Deployment,
) -> None:
    with live_app(deployment.settings, events_ping_seconds=0.5) as app:
        user = await register_and_login(app.base_url)
        async with user.client, subscribed(user.client) as stream:
            started = time.monotonic()
            pings = 0
            while pings < 3:
                message = await stream.next(within=5)
                assert message is not None
                if "ping" in message.comments:
                    pings += 1
            assert time.monotonic() - started < 5


async def test_a_change_that_rolls_back_emits_nothing(
    deployment: Deployment, account: Account
) -> None:
    kept = await imported(account.client, "Refused at commit")
    async with subscribed(account.client) as stream:
        async with deleting_cannot_commit(deployment.engine, kept["id"]):
            refused = await account.client.delete(f"/api/generations/{kept['id']}")
        assert refused.status_code == 500
        other = await imported(account.client, "After the refusal")
        # The first event after the refused delete is the next import: no "deleted" came.
        following = await stream.next_event()
        assert (following.event, following.json["id"]) == ("generation", other["id"])
        assert (await account.client.get(f"/api/generations/{kept['id']}")).status_code == 200


async def test_a_stream_ends_with_its_session(deployment: Deployment) -> None:
    with live_app(deployment.settings, events_ping_seconds=0.5) as app:
        user = await register_and_login(app.base_url)
        async with user.client, subscribed(user.client) as stream:
            assert (await user.client.post("/api/auth/logout")).status_code == 204
            await stream.wait_ended(within=5)  # within a ping or two
            assert (await user.client.get(EVENTS)).status_code == 401


async def test_a_deleted_accounts_stream_ends_at_once(deployment: Deployment) -> None:
    user = await register_and_login(deployment.base_url)  # the default 15 s ping
    async with user.client, subscribed(user.client) as stream:
        await imported(user.client)
        assert (await stream.next_event()).event == "generation"
        started = time.monotonic()
        closed = await user.client.request(
            "DELETE", "/api/auth/me", json={"password": "correct horse battery"}
        )
        assert closed.status_code == 204, closed.text
        await stream.wait_ended(within=5)
        assert time.monotonic() - started < 5


def postgres_only(deployment: Deployment) -> None:
    if deployment.backend != "postgresql":
        pytest.skip("across processes only PostgreSQL carries events (SQLite: one process)")


async def test_a_change_through_one_process_reaches_a_subscriber_of_another(
    deployment: Deployment, account: Account
) -> None:
    postgres_only(deployment)
    with live_app(deployment.settings) as other:
        async with (
            httpx.AsyncClient(base_url=other.base_url, headers=account.auth) as elsewhere,
            subscribed(elsewhere) as remote,
            subscribed(account.client) as local,
        ):
            item = await imported(account.client, "Made in the first process")
            assert (await remote.next_event()).json == item
            assert (await local.next_event()).json == item
            deleted = await elsewhere.delete(f"/api/generations/{item['id']}")
            assert deleted.status_code == 200
            for stream in (remote, local):
                gone = await stream.next_event()
                assert (gone.event, gone.json) == ("deleted", {"generation_id": item["id"]})


async def test_an_event_too_large_for_a_notification_is_read_back(
    deployment: Deployment, account: Account
) -> None:
    # 2000 four-byte characters: 8000 bytes of prompt alone, past PostgreSQL's payload limit.
    item = None
    async with subscribed(account.client) as stream:
        item = await imported(account.client, "\U0001f3ac" * 2000)
        assert (await stream.next_event()).json == item


async def kill_listeners(deployment: Deployment) -> int:
    async with deployment.engine.connect() as connection:
        killed = await connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = :name AND datname = current_database()"
            ),
            {"name": APPLICATION_NAME},
        )
        return len(killed.all())


async def test_a_lost_listener_reconnects_and_events_flow_again(
    deployment: Deployment, account: Account
) -> None:
    postgres_only(deployment)
    async with subscribed(account.client) as before:
        assert await kill_listeners(deployment) >= 1
        # Events of the gap are lost to it: the stream ends, so its client refetches.
        await before.wait_ended(within=15)
    deadline = time.monotonic() + 20
    while True:  # 503 with Retry-After until the listener is back
        async with account.client.stream("GET", EVENTS) as probe:
            if probe.status_code != 503 or time.monotonic() > deadline:
                break
            assert probe.headers["retry-after"]
        await asyncio.sleep(0.2)
    async with subscribed(account.client) as after:
        item = await imported(account.client, "After the reconnect")
        assert (await after.next_event()).json == item


def stalled_subscriber(base_url: str, token: str) -> socket.socket:
    """A stream whose client reads its opening and then nothing: a tiny receive window, so the
    app's writes to it soon stop going anywhere."""
    host, port = base_url.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(30)
    sock.connect((host, int(port)))
    sock.sendall(
        f"GET {EVENTS} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    head = b""
    while b": live" not in head:
        head += sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 200"), head
    return sock


def drain(sock: socket.socket) -> bytes:
    """Everything left until the app closes the stream (a timeout fails the test)."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


async def test_a_subscriber_that_stops_reading_is_dropped_without_delaying_another(
    deployment: Deployment, account: Account
) -> None:
    postgres_only(deployment)
    count, prompt = 1500, "x" * 7000  # about 10 MB of events, each just under the limit
    with live_app(deployment.settings, events_queue_size=64) as app:
        stalled = stalled_subscriber(app.base_url, account.token)
        try:
            async with (
                httpx.AsyncClient(base_url=app.base_url, headers=account.auth) as reader,
                subscribed(reader) as fast,
            ):
                ids = [str(uuid.uuid4()) for _ in range(count)]
                started = time.monotonic()
                # This test process plays another app process: its commits notify.
                async with AsyncSession(deployment.engine) as session:
                    for gid in ids:
                        await emit(session, account.id, "generation", {"id": gid, "p": prompt})
                        await session.commit()
                for gid in ids:
                    assert (await fast.next_event(within=30)).json["id"] == gid
                elapsed = time.monotonic() - started
            # The stalled stream was ended once it fell behind: what it still gets (the kernel's
            # and the app's buffers) ends, far short of every event.
            rest = await asyncio.to_thread(drain, stalled)
            assert rest.count(b"event: generation") < count // 2
        finally:
            stalled.close()
        assert elapsed < 60, elapsed
