"""The generation lifecycle from the outside: worker keys made with the real CLI, a worker's
calls over real HTTP, and a deployment of its own (a claim takes the oldest pending generation
of ANY owner, so these tests need a queue nobody else fills)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reelvault.settings import Settings
from tests.conftest import Deployment, deployment_of
from tests.support.servers import run_cli


@contextlib.contextmanager
def lifecycle_deployment(
    name: str, workdir: Path, request: pytest.FixtureRequest | None = None, **overrides: Any
) -> Iterator[Deployment]:
    """A deployment of its own (`name`: a database, or a key of KINDS; s3 ones need the
    fixture `request`, for the session's S3 server)."""
    with deployment_of(
        name, workdir, request, max_upload_bytes=64 * 1024 * 1024, **overrides
    ) as deployment:
        yield deployment


def create_worker_key(settings: Settings, name: str | None = None) -> str:
    """`reelvault worker-key create NAME`, as an operator runs it: the key it prints."""
    name = name or f"worker-{uuid.uuid4().hex[:8]}"
    done = run_cli(settings, "reelvault", "worker-key", "create", name)
    return done.stdout.strip().splitlines()[-1]


class WorkerClient:
    """A worker's calls, as a real worker makes them."""

    def __init__(self, base_url: str, key: str) -> None:
        self.http = httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60
        )
        self.taken: list[tuple[str, str]] = []  # every (job, lease token) claimed

    async def claim(self, lease_seconds: int = 60) -> httpx.Response:
        response = await self.http.post("/api/worker/claim", json={"lease_seconds": lease_seconds})
        if response.status_code == 200:
            self.taken.append((response.json()["generation_id"], response.json()["lease_token"]))
        return response

    async def heartbeat(self, job_id: str, token: str, progress: int) -> httpx.Response:
        return await self.http.post(
            f"/api/worker/jobs/{job_id}/heartbeat",
            json={"lease_token": token, "progress": progress},
        )

    async def fail(
        self,
        job_id: str,
        token: str,
        error: str = "The model ran out of memory",
        retry: bool = False,
    ) -> httpx.Response:
        return await self.http.post(
            f"/api/worker/jobs/{job_id}/fail",
            json={"lease_token": token, "error": error, "retry": retry},
        )

    async def complete(
        self, job_id: str, token: str, video: bytes, cost: str | None = None
    ) -> httpx.Response:
        data = {"lease_token": token} | ({"cost": cost} if cost is not None else {})
        return await self.http.post(
            f"/api/worker/jobs/{job_id}/complete",
            data=data,
            files={"file": ("result.mp4", video, "video/mp4")},
        )

    async def drain(self) -> int:
        """Claim and fail whatever is pending, so that a test starts from an empty queue."""
        drained = 0
        while (response := await self.claim()).status_code == 200:
            job = response.json()
            assert (await self.fail(job["generation_id"], job["lease_token"])).status_code == 200
            drained += 1
        assert response.status_code == 204, response.text
        return drained

    async def release(self) -> None:
        """Fail every job this client still holds, so that the next test's queue is empty
        (a lease left to run out would requeue its job into it)."""
        for job_id, token in self.taken:
            await self.fail(job_id, token)  # 409/410 where it was settled already
        self.taken.clear()

    async def aclose(self) -> None:
        await self.release()
        await self.http.aclose()


async def request_generation(
    owner: httpx.AsyncClient, prompt: str = "A red sneaker on wet asphalt", **fields: Any
) -> dict[str, Any]:
    response = await owner.post("/api/generations", json={"prompt": prompt, **fields})
    assert response.status_code == 201, response.text
    return response.json()
