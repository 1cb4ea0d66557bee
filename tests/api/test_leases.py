"""Leases: heartbeats extend them, expiry requeues (and fails after REELVAULT_MAX_ATTEMPTS),
every call is fenced (409 for a lost lease, 410 for a deleted generation), and `complete`
runs the import's pipeline all or nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import av
import httpx
import pytest

from tests.conftest import DEPLOYMENTS, Deployment
from tests.support.factories import Account, register_and_login
from tests.support.lifecycle import (
    WorkerClient,
    create_worker_key,
    lifecycle_deployment,
    request_generation,
)
from tests.support.media import clip
from tests.support.sse import subscribed

MAX_ATTEMPTS = 2
SHORTEST_LEASE = 5


@pytest.fixture(scope="module", params=DEPLOYMENTS)
def leases(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    workdir = tmp_path_factory.mktemp(f"leases-{request.param}")
    with lifecycle_deployment(
        request.param, workdir, request, max_attempts=MAX_ATTEMPTS
    ) as deployment:
        deployment.key = create_worker_key(deployment.settings)  # type: ignore[attr-defined]
        yield deployment


@pytest.fixture
async def worker(leases: Deployment) -> AsyncIterator[WorkerClient]:
    client = WorkerClient(leases.base_url, leases.key)  # type: ignore[attr-defined]
    await client.drain()
    yield client
    await client.aclose()


@pytest.fixture
async def owner(leases: Deployment) -> AsyncIterator[Account]:
    user = await register_and_login(leases.base_url)
    yield user
    await user.client.aclose()


async def claimed(worker: WorkerClient, owner: Account, lease_seconds: int = 60) -> tuple[str, str]:
    requested = await request_generation(owner.client)
    response = await worker.claim(lease_seconds)
    assert response.status_code == 200, response.text
    job = response.json()
    assert job["generation_id"] == requested["id"]
    return job["generation_id"], job["lease_token"]


async def item(owner: Account, job_id: str) -> dict[str, Any]:
    response = await owner.client.get(f"/api/generations/{job_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def until_status(owner: Account, job_id: str, status: str, within: float = 30) -> dict:
    deadline = time.monotonic() + within
    while True:
        current = await item(owner, job_id)
        if current["status"] == status or time.monotonic() > deadline:
            return current
        await asyncio.sleep(0.25)


async def test_heartbeats_record_progress_and_extend_the_lease(
    worker: WorkerClient, owner: Account
) -> None:
    job_id, token = await claimed(worker, owner, SHORTEST_LEASE)
    first = await worker.heartbeat(job_id, token, 40)
    assert first.status_code == 200, first.text
    assert (await item(owner, job_id))["progress"] == 40
    await asyncio.sleep(3)
    second = await worker.heartbeat(job_id, token, 60)
    assert second.status_code == 200, second.text
    assert datetime.fromisoformat(second.json()["lease_expires_at"]) > datetime.fromisoformat(
        first.json()["lease_expires_at"]
    )
    await asyncio.sleep(3)  # past the first lease's end: the heartbeats kept it alive
    third = await worker.heartbeat(job_id, token, 70)
    assert third.status_code == 200, third.text
    current = await item(owner, job_id)
    assert (current["status"], current["progress"]) == ("processing", 70)


async def test_an_expired_lease_is_requeued_and_its_calls_are_409(
    worker: WorkerClient, owner: Account
) -> None:
    job_id, token = await claimed(worker, owner, SHORTEST_LEASE)
    requeued = await until_status(owner, job_id, "pending")
    assert requeued["status"] == "pending", requeued
    assert (requeued["attempts"], requeued["progress"]) == (1, 0)
    # The lease ran out: whether requeued or not, its token is refused.
    assert (await worker.heartbeat(job_id, token, 50)).status_code == 409
    again = await worker.claim()
    assert again.status_code == 200
    assert (again.json()["generation_id"], again.json()["attempt"]) == (job_id, 2)
    # Replaced by the new claim: the old token stays refused everywhere.
    stale = await asyncio.gather(
        worker.heartbeat(job_id, token, 50),
        worker.fail(job_id, token),
        worker.complete(job_id, token, clip(160, 90, 1.0).read_bytes()),
    )
    assert [response.status_code for response in stale] == [409, 409, 409]
    assert "lease" in stale[0].json()["detail"]
    assert (await worker.heartbeat(job_id, again.json()["lease_token"], 5)).status_code == 200


async def test_after_max_attempts_it_fails_with_the_message(
    worker: WorkerClient, owner: Account
) -> None:
    job_id, _ = await claimed(worker, owner, SHORTEST_LEASE)
    assert (await until_status(owner, job_id, "pending"))["status"] == "pending"
    assert (await worker.claim(SHORTEST_LEASE)).json()["attempt"] == MAX_ATTEMPTS
    failed = await until_status(owner, job_id, "failed")
    assert failed["status"] == "failed", failed
    assert failed["error"] == "The generator stopped responding"
    assert (failed["attempts"], failed["progress"]) == (MAX_ATTEMPTS, None)
    assert (await worker.claim()).status_code == 204


async def test_a_deleted_generation_is_410_for_its_worker(
    worker: WorkerClient, owner: Account
) -> None:
    job_id, token = await claimed(worker, owner)
    assert (await worker.heartbeat(job_id, token, 10)).status_code == 200
    assert (await owner.client.delete(f"/api/generations/{job_id}")).status_code == 200
    answers = [
        await worker.heartbeat(job_id, token, 20),
        await worker.complete(job_id, token, clip(160, 90, 1.0).read_bytes()),
        await worker.fail(job_id, token),
    ]
    assert [answer.status_code for answer in answers] == [410, 410, 410]
    assert "deleted" in answers[0].json()["detail"]


async def test_a_bad_file_is_415_and_the_job_stays_under_its_lease(
    leases: Deployment, worker: WorkerClient, owner: Account
) -> None:
    job_id, token = await claimed(worker, owner)
    before = leases.all_files()
    response = await worker.complete(job_id, token, b"\x00\x00\x00\x18ftypmp42" + b"junk" * 500)
    assert response.status_code == 415, response.text
    assert leases.all_files() == before
    assert not any(leases.media.incoming_dir().iterdir())
    current = await item(owner, job_id)
    assert (current["status"], current["video_url"], current["file_size"]) == (
        "processing",
        None,
        None,
    )
    # Still this worker's, and only this worker's: nobody else can claim it.
    assert (await worker.claim()).status_code == 204
    assert (await worker.heartbeat(job_id, token, 90)).status_code == 200


async def test_complete_makes_a_playable_completed_video(
    leases: Deployment, worker: WorkerClient, owner: Account, tmp_path: Path
) -> None:
    job_id, token = await claimed(worker, owner)
    assert (await worker.heartbeat(job_id, token, 99)).status_code == 200
    source = clip(360, 640, 2.0)
    response = await worker.complete(job_id, token, source.read_bytes(), cost="0.35")
    assert response.status_code == 200, response.text
    done = response.json()
    assert done["status"] == "completed"
    assert (done["width"], done["height"], done["duration"]) == (360, 640, 2)
    assert done["cost"] == 0.35
    assert done["progress"] is None and done["completed_at"] is not None
    assert done["file_available"] is True and done["attempts"] == 1
    assert done == await item(owner, job_id)
    video = await owner.client.get(done["video_url"])
    assert video.status_code == 200
    assert video.headers["content-type"] == "video/mp4"
    path = tmp_path / "check.mp4"
    path.write_bytes(video.content)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (360, 640)
    assert (await owner.client.get(done["thumbnail_url"])).status_code == 200
    # Done: the lease is over.
    assert (await worker.heartbeat(job_id, token, 100)).status_code == 409
    assert (await worker.complete(job_id, token, source.read_bytes())).status_code == 409


async def test_complete_with_a_wrong_or_missing_token_leaves_nothing(
    leases: Deployment, worker: WorkerClient, owner: Account
) -> None:
    job_id, token = await claimed(worker, owner)
    before = leases.all_files()
    video = clip(160, 90, 1.0).read_bytes()
    assert (await worker.complete(job_id, "not-" + token[4:], video)).status_code == 409
    missing = await worker.http.post(
        f"/api/worker/jobs/{job_id}/complete", files={"file": ("r.mp4", video, "video/mp4")}
    )
    assert missing.status_code == 422
    bad_cost = await worker.complete(job_id, token, video, cost="-1")
    assert bad_cost.status_code == 422
    assert leases.all_files() == before
    assert (await item(owner, job_id))["status"] == "processing"


async def test_fail_with_retry_requeues_and_without_fails_with_the_reason(
    worker: WorkerClient, owner: Account
) -> None:
    job_id, token = await claimed(worker, owner)
    retried = await worker.fail(job_id, token, "GPU reset", retry=True)
    assert retried.status_code == 200, retried.text
    assert (retried.json()["status"], retried.json()["progress"]) == ("pending", 0)
    second = (await worker.claim()).json()
    assert second["attempt"] == 2
    # Out of attempts: a retry is a failure now, with the worker's sentence.
    final = await worker.fail(job_id, second["lease_token"], "GPU reset again", retry=True)
    assert final.status_code == 200
    assert (final.json()["status"], final.json()["error"]) == ("failed", "GPU reset again")

    other_id, other_token = await claimed(worker, owner)
    failed = await worker.fail(other_id, other_token, "The prompt was refused", retry=False)
    assert (failed.json()["status"], failed.json()["error"]) == (
        "failed",
        "The prompt was refused",
    )
    assert (await item(owner, other_id))["error"] == "The prompt was refused"


@pytest.mark.parametrize(
    "body",
    [
        {"lease_token": "t", "error": "", "retry": False},
        {"lease_token": "t", "error": "   ", "retry": False},
        {"lease_token": "t", "error": "x" * 501, "retry": False},
        {"lease_token": "t", "error": "nul\x00", "retry": False},
        {"lease_token": "bad token!", "error": "x", "retry": False},
        {"lease_token": "t", "error": "x", "retry": "yes"},
    ],
)
async def test_a_bad_failure_is_422(
    worker: WorkerClient, owner: Account, body: dict[str, Any]
) -> None:
    job_id, token = await claimed(worker, owner)
    if body["lease_token"] == "t":
        body = {**body, "lease_token": token}
    response = await worker.http.post(f"/api/worker/jobs/{job_id}/fail", json=body)
    assert response.status_code == 422, response.text
    assert (await item(owner, job_id))["status"] == "processing"


@pytest.mark.parametrize("progress", [-1, 101, 50.5, None, "lots"])
async def test_a_bad_progress_is_422(
    worker: WorkerClient, owner: Account, progress: object
) -> None:
    job_id, token = await claimed(worker, owner)
    response = await worker.http.post(
        f"/api/worker/jobs/{job_id}/heartbeat", json={"lease_token": token, "progress": progress}
    )
    assert response.status_code == 422


async def test_a_malformed_job_id_is_404(worker: WorkerClient) -> None:
    response = await worker.heartbeat("not-a-uuid", "token", 10)
    assert response.status_code == 404


async def test_the_lifecycle_is_in_the_metrics(
    leases: Deployment, worker: WorkerClient, owner: Account
) -> None:
    job_id, token = await claimed(worker, owner)
    assert (await worker.fail(job_id, token, "Out of credits")).status_code == 200
    async with httpx.AsyncClient(base_url=leases.base_url) as local:
        metrics = (await local.get("/metrics")).text
    assert 'reelvault_claims_total{outcome="claimed"}' in metrics
    assert 'reelvault_generation_transitions_total{status="processing"}' in metrics
    assert 'reelvault_generation_transitions_total{status="failed"}' in metrics
    assert "reelvault_generation_attempts_bucket" in metrics
    assert "reelvault_generation_completion_seconds_count" in metrics


async def test_the_owner_watches_the_whole_life_live_and_nobody_else_sees_it(
    leases: Deployment, worker: WorkerClient, owner: Account
) -> None:
    """requested -> claimed -> progress -> completed -> deleted, each as an event on the owner's
    stream, in order, with the item as it is at that step; another user's stream stays empty."""
    bystander = await register_and_login(leases.base_url)
    try:
        async with subscribed(owner.client) as mine, subscribed(bystander.client) as theirs:
            requested = await request_generation(owner.client, prompt="Watched live")
            job = (await worker.claim()).json()
            assert job["generation_id"] == requested["id"]
            token = job["lease_token"]
            beat = await worker.heartbeat(requested["id"], token, 40)
            assert beat.status_code == 200
            done = await worker.complete(requested["id"], token, clip(320, 180, 1.0).read_bytes())
            assert done.status_code == 200, done.text
            assert (
                await owner.client.delete(f"/api/generations/{requested['id']}")
            ).status_code == 200

            seen = [await mine.next_event(within=15) for _ in range(5)]
            assert [m.event for m in seen] == ["generation"] * 4 + ["deleted"]
            steps = [(m.json["status"], m.json["progress"]) for m in seen[:4]]
            assert steps == [
                ("pending", 0),
                ("processing", 0),
                ("processing", 40),
                ("completed", None),
            ]
            assert all(m.json["id"] == requested["id"] for m in seen[:4])
            assert seen[3].json["video_url"] and seen[3].json["attempts"] == 1
            assert seen[4].json == {"generation_id": requested["id"]}
            assert await theirs.events_for(1.0) == []
    finally:
        await bystander.client.aclose()
