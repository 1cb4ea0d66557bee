"""The live events stream through the real Nginx with our nginx.conf: each message passes as
the app writes it (no buffering, no gzip), with the security headers, cookie or Bearer."""

from __future__ import annotations

import itertools
import tempfile
import time
from pathlib import Path

import httpx

from tests.deploy.conftest import Stack
from tests.support.factories import register_and_login
from tests.support.media import clip
from tests.support.nginx import nginx_in_front
from tests.support.servers import live_app
from tests.support.sse import subscribed


async def test_events_pass_nginx_at_once_and_uncompressed(stack: Stack) -> None:
    user = await register_and_login(stack.base_url)
    async with user.client, subscribed(user.client, headers={"Accept-Encoding": "gzip"}) as stream:
        headers = stream.response.headers
        assert "content-encoding" not in headers
        assert headers["x-content-type-options"] == "nosniff"  # Nginx's headers, once
        started = time.monotonic()
        response = await user.client.post(
            "/api/generations",
            data={"prompt": "Through Nginx, live"},
            files={"file": ("clip.mp4", clip(320, 180, 1.0).read_bytes(), "video/mp4")},
        )
        assert response.status_code == 201, response.text
        event = await stream.next_event(within=10)
        assert event.json == response.json()
        assert time.monotonic() - started < 10
        deleted = await user.client.delete(f"/api/generations/{response.json()['id']}")
        assert deleted.status_code == 200
        assert (await stream.next_event()).json == {"generation_id": response.json()["id"]}


async def test_each_ping_comes_through_nginx_on_its_own(stack: Stack) -> None:
    # A few bytes every half second: buffered, they would arrive in one lump, or never.
    workdir = Path(tempfile.mkdtemp(prefix="reelvault-events-"))
    workdir.chmod(0o755)
    with (
        live_app(stack.settings, events_ping_seconds=0.5) as app,
        nginx_in_front(app.port, stack.settings, workdir) as nginx,
    ):
        user = await register_and_login(nginx.base_url)
        async with user.client, subscribed(user.client) as stream:
            arrivals = []
            while len(arrivals) < 4:
                message = await stream.next(within=5)
                assert message is not None
                if "ping" in message.comments:
                    arrivals.append(time.monotonic())
            gaps = [b - a for a, b in itertools.pairwise(arrivals)]
            assert all(gap > 0.2 for gap in gaps), gaps


async def test_a_stream_through_nginx_needs_the_token(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url) as anonymous:
        response = await anonymous.get("/api/generations/events")
    assert response.status_code == 401
    assert response.json()["status_code"] == 401
