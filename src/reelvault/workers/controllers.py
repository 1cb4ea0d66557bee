from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, SkipValidation

from reelvault.generations.schemas import GenerationItem
from reelvault.paths import parse_id
from reelvault.workers.auth import Worker
from reelvault.workers.deps import provide_worker, provide_worker_service
from reelvault.workers.openapi import CompleteOperation
from reelvault.workers.schemas import (
    ClaimedJob,
    ClaimRequest,
    Failure,
    Heartbeat,
    LeaseExtended,
)
from reelvault.workers.services import WorkerService

Caller = NamedDependency[SkipValidation[Worker]]
Jobs = NamedDependency[SkipValidation[WorkerService]]


class WorkerController(Controller):
    """Authenticated by a worker key (reelvault.workers.auth), never by a user's token."""

    path = "/api/worker"
    tags = ["Workers"]
    dependencies = {
        "worker": Provide(provide_worker, sync_to_thread=False),
        "jobs": Provide(provide_worker_service),
    }

    @post(
        "/claim",
        status_code=200,
        summary="Take the oldest pending generation, under a lease",
        responses={204: ResponseSpec(None, description="Nothing is pending")},
    )
    async def claim(
        self, worker: Caller, jobs: Jobs, data: JSONBody[ClaimRequest]
    ) -> Response[ClaimedJob]:
        job = await jobs.claim(worker, data.lease_seconds)
        return Response(job, status_code=200) if job else Response(None, status_code=204)  # type: ignore[arg-type]

    @post(
        "/jobs/{generation_id:str}/heartbeat",
        status_code=200,
        summary="Report progress and extend the lease by its length",
    )
    async def heartbeat(
        self, worker: Caller, jobs: Jobs, generation_id: FromPath[str], data: JSONBody[Heartbeat]
    ) -> LeaseExtended:
        expires_at = await jobs.heartbeat(
            worker, parse_id(generation_id), data.lease_token, data.progress
        )
        return LeaseExtended(lease_expires_at=expires_at)

    @post(
        "/jobs/{generation_id:str}/complete",
        status_code=200,
        summary="Deliver the finished video: the generation becomes completed",
        operation_class=CompleteOperation,
        # Streamed to disk by the service under the import's own limit.
        request_max_body_size=None,
    )
    async def complete(
        self,
        request: Request[Worker, Any, Any],
        worker: Caller,
        jobs: Jobs,
        generation_id: FromPath[str],
    ) -> GenerationItem:
        return await jobs.complete(
            worker, parse_id(generation_id), request.stream(), request.headers.get("content-type")
        )

    @post(
        "/jobs/{generation_id:str}/fail",
        status_code=200,
        summary="Give up on the job: back to pending (retry) or failed with the reason",
    )
    async def fail(
        self, worker: Caller, jobs: Jobs, generation_id: FromPath[str], data: JSONBody[Failure]
    ) -> GenerationItem:
        return await jobs.fail(
            worker, parse_id(generation_id), data.lease_token, data.error, data.retry
        )
