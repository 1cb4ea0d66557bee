"""Claiming: the oldest pending generation of any owner, exclusively, under concurrency, on
SQLite and PostgreSQL; 204 when nothing is pending."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import BACKENDS, Deployment
from tests.support.factories import (
    Account,
    generation_row,
    insert_generations,
    register_and_login,
)
from tests.support.lifecycle import (
    WorkerClient,
    create_worker_key,
    lifecycle_deployment,
    request_generation,
)


@pytest.fixture(scope="module", params=BACKENDS)
def queue(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    workdir = tmp_path_factory.mktemp(f"claims-{request.param}")
    with lifecycle_deployment(request.param, workdir) as deployment:
        deployment.key = create_worker_key(deployment.settings)  # type: ignore[attr-defined]
        yield deployment


@pytest.fixture
async def worker(queue: Deployment) -> AsyncIterator[WorkerClient]:
    client = WorkerClient(queue.base_url, queue.key)  # type: ignore[attr-defined]
    await client.drain()  # every test starts from an empty queue
    yield client
    await client.aclose()


@pytest.fixture
async def owner(queue: Deployment) -> AsyncIterator[Account]:
    user = await register_and_login(queue.base_url)
    yield user
    await user.client.aclose()


async def test_an_empty_queue_is_204(worker: WorkerClient) -> None:
    response = await worker.claim()
    assert response.status_code == 204
    assert response.content == b""


async def test_a_claim_takes_the_request_under_a_lease(
    worker: WorkerClient, owner: Account
) -> None:
    requested = await request_generation(
        owner.client, "A lighthouse in a storm", duration=20, aspect_ratio="1:1"
    )
    before = datetime.now(UTC)
    response = await worker.claim(lease_seconds=90)
    assert response.status_code == 200, response.text
    job = response.json()
    assert set(job) == {
        "generation_id",
        "prompt",
        "duration",
        "aspect_ratio",
        "attempt",
        "lease_token",
        "lease_expires_at",
    }
    assert job["generation_id"] == requested["id"]
    assert (job["prompt"], job["duration"], job["aspect_ratio"]) == (
        "A lighthouse in a storm",
        20,
        "1:1",
    )
    assert job["attempt"] == 1
    assert len(job["lease_token"]) >= 24
    expires = datetime.fromisoformat(job["lease_expires_at"])
    assert expires.tzinfo is not None
    # The database's clock (the same machine here): generous bounds.
    assert before + timedelta(seconds=80) < expires < before + timedelta(seconds=100)
    item = (await owner.client.get(f"/api/generations/{requested['id']}")).json()
    assert (item["status"], item["progress"], item["attempts"]) == ("processing", 0, 1)
    assert (await worker.claim()).status_code == 204


async def test_the_oldest_pending_of_any_owner_goes_first(
    queue: Deployment, worker: WorkerClient, owner: Account
) -> None:
    other = await register_and_login(queue.base_url)
    await other.client.aclose()
    base = datetime(2026, 3, 1, tzinfo=UTC)
    same_moment = sorted([uuid.uuid4(), uuid.uuid4()])  # ties go by id
    rows = [
        generation_row(owner.id, created_at=base + timedelta(minutes=2), progress=0),
        generation_row(other.id, id=same_moment[1], created_at=base, progress=0),
        generation_row(owner.id, id=same_moment[0], created_at=base, progress=0),
        generation_row(other.id, created_at=base + timedelta(minutes=1), progress=0),
        # Not pending: never claimed.
        generation_row(owner.id, created_at=base - timedelta(days=1), status="failed"),
        generation_row(owner.id, created_at=base - timedelta(days=1), status="processing"),
    ]
    await insert_generations(queue.engine, rows)
    claimed = []
    while (response := await worker.claim()).status_code == 200:
        claimed.append(uuid.UUID(response.json()["generation_id"]))
    assert claimed == [rows[2]["id"], rows[1]["id"], rows[3]["id"], rows[0]["id"]]


async def test_twenty_concurrent_claimers_never_share_a_generation(
    queue: Deployment, worker: WorkerClient, owner: Account
) -> None:
    wanted = {
        uuid.UUID((await request_generation(owner.client, f"Clip {n}"))["id"]) for n in range(30)
    }
    claimers = [
        WorkerClient(queue.base_url, queue.key)  # type: ignore[attr-defined]
        for _ in range(20)
    ]

    async def claim_until_empty(claimer: WorkerClient) -> list[tuple[uuid.UUID, str]]:
        taken = []
        while (response := await claimer.claim()).status_code == 200:
            job = response.json()
            taken.append((uuid.UUID(job["generation_id"]), job["lease_token"]))
        assert response.status_code == 204, response.text
        return taken

    try:
        results = await asyncio.gather(*(claim_until_empty(c) for c in claimers))
        # Read while the claimers still hold their leases: closing one gives its jobs back.
        page = (await owner.client.get("/api/generations", params={"limit": 100})).json()
    finally:
        await asyncio.gather(*(c.aclose() for c in claimers))
    taken = [job for result in results for job in result]
    ids = [job_id for job_id, _ in taken]
    assert len(ids) == len(set(ids)) == 30
    assert set(ids) == wanted
    assert len({token for _, token in taken}) == 30
    assert {g["status"] for g in page["generations"]} == {"processing"}
    assert {g["attempts"] for g in page["generations"]} == {1}


@pytest.mark.parametrize("body", [{"lease_seconds": 4}, {"lease_seconds": 601}, {"x": 1}])
async def test_a_bad_lease_is_422(worker: WorkerClient, body: dict[str, object]) -> None:
    response = await worker.http.post("/api/worker/claim", json=body)
    assert response.status_code == 422, response.text


async def test_a_claim_body_that_is_not_json_is_415(worker: WorkerClient) -> None:
    response = await worker.http.post(
        "/api/worker/claim", content=b"lease_seconds=60", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415
