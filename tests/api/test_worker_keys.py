"""Worker keys: made and revoked with the CLI, stored only as a digest, accepted on the worker
endpoints alone; user tokens and worker keys never cross."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from tests.conftest import BACKENDS, Deployment
from tests.support.factories import Account, register_and_login
from tests.support.lifecycle import (
    WorkerClient,
    create_worker_key,
    lifecycle_deployment,
    request_generation,
)
from tests.support.servers import live_app, run_cli

WORKER_CALLS = [
    ("/api/worker/claim", {"lease_seconds": 60}),
    (
        "/api/worker/jobs/00000000-0000-4000-8000-000000000000/heartbeat",
        {"lease_token": "t", "progress": 1},
    ),
    (
        "/api/worker/jobs/00000000-0000-4000-8000-000000000000/fail",
        {"lease_token": "t", "error": "x", "retry": False},
    ),
]


@pytest.fixture(scope="module", params=BACKENDS)
def keys_deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    workdir = tmp_path_factory.mktemp(f"worker-keys-{request.param}")
    with lifecycle_deployment(request.param, workdir) as deployment:
        yield deployment


@pytest.fixture
async def owner(keys_deployment: Deployment) -> AsyncIterator[Account]:
    user = await register_and_login(keys_deployment.base_url)
    yield user
    await user.client.aclose()


async def stored_keys(deployment: Deployment) -> list[tuple[str, str]]:
    async with deployment.engine.connect() as connection:
        rows = await connection.execute(text("SELECT name, key_hash FROM worker_key"))
        return [(row.name, row.key_hash) for row in rows]


async def test_a_key_is_printed_once_and_stored_only_as_its_digest(
    keys_deployment: Deployment,
) -> None:
    key = create_worker_key(keys_deployment.settings, "render-farm-1")
    assert key.startswith("rvk_")
    assert len(key) >= 4 + 32
    assert set(key[4:]) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    stored = dict(await stored_keys(keys_deployment))
    assert stored["render-farm-1"] == hashlib.sha256(key.encode()).hexdigest()
    assert all(key not in value for value in stored.values())
    listing = run_cli(keys_deployment.settings, "reelvault", "worker-key", "list").stdout
    assert key not in listing
    line = next(line for line in listing.splitlines() if line.startswith("render-farm-1 "))
    assert line.rstrip().endswith("never")


async def test_use_is_recorded_and_listed(keys_deployment: Deployment) -> None:
    key = create_worker_key(keys_deployment.settings, "recorded-use")
    worker = WorkerClient(keys_deployment.base_url, key)
    try:
        assert (await worker.claim()).status_code in (200, 204)
    finally:
        await worker.aclose()
    listing = run_cli(keys_deployment.settings, "reelvault", "worker-key", "list").stdout
    line = next(line for line in listing.splitlines() if line.startswith("recorded-use "))
    assert not line.rstrip().endswith("never")
    assert line.split()[-1].endswith("Z")


def test_two_keys_cannot_share_a_name(keys_deployment: Deployment) -> None:
    create_worker_key(keys_deployment.settings, "same-name")
    with pytest.raises(subprocess.CalledProcessError) as refused:
        create_worker_key(keys_deployment.settings, "same-name")
    assert "exists already" in refused.value.stderr


@pytest.mark.parametrize("name", ["has space", "_leading", "x" * 101])
def test_a_bad_name_is_refused(keys_deployment: Deployment, name: str) -> None:
    with pytest.raises(subprocess.CalledProcessError) as refused:
        run_cli(keys_deployment.settings, "reelvault", "worker-key", "create", name)
    assert "name" in refused.value.stderr


def test_revoking_an_unknown_key_says_so(keys_deployment: Deployment) -> None:
    with pytest.raises(subprocess.CalledProcessError) as refused:
        run_cli(keys_deployment.settings, "reelvault", "worker-key", "revoke", "no-such-key")
    assert "No worker key is named" in refused.value.stderr


async def test_a_users_token_is_401_on_every_worker_endpoint(
    keys_deployment: Deployment, owner: Account
) -> None:
    for path, body in WORKER_CALLS:
        response = await owner.client.post(path, json=body)
        assert response.status_code == 401, (path, response.text)
    # The cookie does not open them either.
    async with httpx.AsyncClient(
        base_url=keys_deployment.base_url, cookies={"reelvault_token": owner.token}
    ) as browser:
        response = await browser.post("/api/worker/claim", json={"lease_seconds": 60})
    assert response.status_code == 401


async def test_a_worker_key_is_401_on_user_endpoints(keys_deployment: Deployment) -> None:
    key = create_worker_key(keys_deployment.settings)
    async with httpx.AsyncClient(
        base_url=keys_deployment.base_url, headers={"Authorization": f"Bearer {key}"}
    ) as worker:
        for method, path in [
            ("GET", "/api/generations"),
            ("POST", "/api/generations"),
            ("GET", "/api/auth/me"),
            ("GET", "/api/video/00000000-0000-4000-8000-000000000000"),
        ]:
            response = await worker.request(method, path, json={"prompt": "x"})
            assert response.status_code == 401, (method, path, response.text)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Bearer rvk_short",
        "Basic cnZrXw==",
        "Bearer rvk_" + "A" * 43,  # well formed, never issued
        "Bearer rvk_" + "A" * 5000,
    ],
)
async def test_without_a_valid_key_every_worker_call_is_401(
    keys_deployment: Deployment, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    async with httpx.AsyncClient(base_url=keys_deployment.base_url, headers=headers) as client:
        response = await client.post("/api/worker/claim", json={"lease_seconds": 60})
    assert response.status_code == 401
    assert "worker key" in response.json()["detail"]


async def test_a_revoked_key_is_refused_at_once_on_every_process(
    keys_deployment: Deployment, owner: Account, tmp_path: Path
) -> None:
    key = create_worker_key(keys_deployment.settings, "soon-revoked")
    with live_app(keys_deployment.settings) as second:
        first_worker = WorkerClient(keys_deployment.base_url, key)
        second_worker = WorkerClient(second.base_url, key)
        try:
            await first_worker.drain()
            job = await request_generation(owner.client)
            claimed = await first_worker.claim()
            assert claimed.status_code == 200
            token = claimed.json()["lease_token"]
            assert (await second_worker.heartbeat(job["id"], token, 10)).status_code == 200
            run_cli(keys_deployment.settings, "reelvault", "worker-key", "revoke", "soon-revoked")
            answers = await asyncio.gather(
                first_worker.heartbeat(job["id"], token, 20),
                second_worker.heartbeat(job["id"], token, 20),
                first_worker.claim(),
                second_worker.fail(job["id"], token),
            )
            assert [answer.status_code for answer in answers] == [401, 401, 401, 401]
        finally:
            await first_worker.aclose()
            await second_worker.aclose()
    assert "soon-revoked" not in dict(await stored_keys(keys_deployment))
