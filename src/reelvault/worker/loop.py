"""The worker loop: claim a job under a lease, run the engine, keep the lease alive with
heartbeats that carry its progress, then complete or fail it.

What decides is always the lease. While it lives the worker retries every call (the app may be
restarting); once it is gone (409, or no answer before it ran out) the job is dropped, since the
server puts it back in the queue; a 410 means the owner deleted it: the engine is stopped at
once. On SIGTERM/SIGINT no new job is claimed; the running one may finish within the grace
period, after that (or on a second signal) it is stopped and given back (`fail`, retry)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import signal
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from reelvault.worker.api import Api, Unanswered
from reelvault.worker.backoff import Backoff
from reelvault.worker.engine import (
    CannotGenerate,
    Engine,
    Job,
    JobCancelled,
    failure_sentence,
    is_async,
)

logger = logging.getLogger("reelvault.worker")

GIVEN_BACK = "The worker was stopped before it finished; the job goes back to the queue."
NO_FILE = "The generator finished without a video file."
# How long a stopped engine may take to notice (at its next `report`) before it is abandoned.
ENGINE_STOP_SECONDS = 10.0
GIVE_BACK_SECONDS = 10.0
EXIT_KEY_REFUSED = 3


@dataclass
class Lease:
    token: str
    seconds: int
    deadline: float  # time.monotonic() by which it runs out, as far as this worker knows

    def renewed(self, sent_at: float) -> None:
        # Measured from when the heartbeat was sent: never later than the server's own expiry.
        self.deadline = sent_at + self.seconds

    @property
    def alive(self) -> bool:
        return time.monotonic() < self.deadline


class Worker:
    def __init__(
        self,
        api: Api,
        engine: Engine,
        *,
        lease_seconds: int = 60,
        grace_seconds: float = 30.0,
        work_root: Path | None = None,
        beat_seconds: float = 1.0,
        idle: Backoff | None = None,
    ) -> None:
        self.api = api
        self.engine = engine
        self.lease_seconds = lease_seconds
        self.grace_seconds = grace_seconds
        self.work_root = work_root
        # Progress goes out about once a second; the lease is renewed at a third of its length
        # even when progress stands still, so two heartbeats can fail before it runs out.
        self.beat_seconds = min(beat_seconds, lease_seconds / 3)
        self.idle = idle or Backoff(initial=0.5, cap=10.0)
        self.stopping = asyncio.Event()  # no new claims
        self.hurry = asyncio.Event()  # stop the running job now and give it back
        self.jobs_done = 0

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.request_stop, signum)

    def request_stop(self, signum: int | None = None) -> None:
        name = signal.Signals(signum).name if signum else "stop"
        if self.stopping.is_set():
            logger.info("%s again: stopping the job now", name)
            self.hurry.set()
            return
        logger.info(
            "%s: no new jobs; finishing the current one within %.0f s", name, self.grace_seconds
        )
        self.stopping.set()
        asyncio.get_running_loop().call_later(self.grace_seconds, self.hurry.set)

    async def run(self) -> int:
        """Claim and work until stopped; the process's exit code."""
        while not self.stopping.is_set():
            try:
                response = await self.api.call(
                    "POST",
                    "/api/worker/claim",
                    abort=self.stopping,
                    body=lambda: {"json": {"lease_seconds": self.lease_seconds}},
                )
            except Unanswered:
                break
            sent_at = time.monotonic()
            if response.status_code == 200:
                self.idle.reset()
                try:
                    await self.work(response.json(), sent_at)
                except Exception:
                    # A bug here must not end the worker: the lease puts the job back.
                    logger.exception("the job ended unexpectedly")
            elif response.status_code == 204:
                await self._pause(self.idle.next())
            elif response.status_code in (401, 403):
                logger.error(
                    "The API refused the worker key (%s): %s",
                    response.status_code,
                    _detail(response),
                )
                return EXIT_KEY_REFUSED
            else:
                logger.warning("claim answered %s: %s", response.status_code, _detail(response))
                await self._pause(self.idle.next())
        logger.info("worker stopped after %d job(s)", self.jobs_done)
        return 0

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), seconds)

    async def work(self, claimed: dict[str, Any], sent_at: float) -> None:
        job_id = claimed["generation_id"]
        # Counted from when the claim was sent, so this worker's idea of the lease never
        # outlives the server's.
        lease = Lease(claimed["lease_token"], self.lease_seconds, sent_at + self.lease_seconds)
        if self.work_root is not None:
            self.work_root.mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix=f"job-{job_id}-", dir=self.work_root))
        job = Job(
            generation_id=UUID(job_id),
            prompt=claimed["prompt"],
            duration=claimed["duration"],
            aspect_ratio=claimed.get("aspect_ratio"),
            attempt=claimed.get("attempt", 1),
            workdir=workdir,
        )
        logger.info(
            "claimed %s (attempt %s, %s s, %s)", job_id, job.attempt, job.duration, job.aspect_ratio
        )
        beats = asyncio.create_task(self._heartbeats(job, lease), name=f"heartbeat-{job_id}")
        engine = self._start_engine(job)
        try:
            outcome = await self._first(engine, beats)
            if outcome == "engine":
                await self._finish(job, lease, engine, beats)
            elif outcome == "hurry":
                await self._stop_engine(job, engine)
                await self._give_back(job, lease)
            else:
                await self._stop_engine(job, engine)
                logger.info("%s: %s; the engine was stopped", job_id, beats.result())
        finally:
            job.cancel()
            beats.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beats
            shutil.rmtree(workdir, ignore_errors=True)
            self.jobs_done += 1

    def _start_engine(self, job: Job) -> asyncio.Future[Any]:
        if is_async(self.engine):
            return asyncio.ensure_future(self.engine(job))  # type: ignore[arg-type]
        return _in_thread(self.engine, job)

    async def _first(self, task: asyncio.Future[Any], beats: asyncio.Task[str]) -> str:
        """Which ends first: `task`, the lease (beats) or the grace period."""
        hurry = asyncio.ensure_future(self.hurry.wait())
        try:
            done, _ = await asyncio.wait({task, beats, hurry}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            hurry.cancel()
        if task in done:
            return "engine"
        if beats in done:
            return "lease"
        return "hurry"

    async def _stop_engine(self, job: Job, engine: asyncio.Future[Any]) -> None:
        job.cancel()
        if not engine.done():
            if is_async(self.engine):
                engine.cancel()
            await asyncio.wait({engine}, timeout=ENGINE_STOP_SECONDS)
        if engine.done() and not engine.cancelled():
            engine.exception()  # retrieved: a JobCancelled is the expected end

    async def _finish(
        self, job: Job, lease: Lease, engine: asyncio.Future[Any], beats: asyncio.Task[str]
    ) -> None:
        job_id = str(job.generation_id)
        error = engine.exception()
        if error is not None:
            if isinstance(error, JobCancelled):
                return
            retry = not isinstance(error, CannotGenerate)
            logger.warning("%s: the engine failed: %r", job_id, error)
            await self._fail(job, lease, failure_sentence(error), retry=retry)
            return
        path = Path(engine.result())
        if not path.is_file():  # noqa: ASYNC240 (one stat of a local file)
            await self._fail(job, lease, NO_FILE, retry=True)
            return
        upload = asyncio.ensure_future(self._complete(job, lease, path))
        outcome = await self._first(upload, beats)
        if outcome == "engine":
            upload.result()
            return
        upload.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await upload
        if outcome == "hurry":
            await self._give_back(job, lease)
        else:
            logger.info("%s: %s; the upload was abandoned", job_id, beats.result())

    async def _complete(self, job: Job, lease: Lease, path: Path) -> None:
        job_id = str(job.generation_id)

        def body() -> dict[str, Any]:
            data = {"lease_token": lease.token}
            if job.cost is not None:
                data["cost"] = repr(float(job.cost))
            return {"data": data, "files": {"file": ("video.mp4", path.open("rb"), "video/mp4")}}

        try:
            response = await self.api.call(
                "POST", f"/api/worker/jobs/{job_id}/complete", deadline=lease.deadline, body=body
            )
        except Unanswered:
            logger.warning("%s: no answer to complete before the lease ran out; dropped", job_id)
            return
        if response.status_code == 200:
            logger.info("%s: completed", job_id)
        elif response.status_code in (409, 410):
            logger.info(
                "%s: complete answered %s: %s", job_id, response.status_code, _detail(response)
            )
        else:
            # The server refused the file (415, 413, 422): the job is still ours; say why.
            detail = _detail(response)
            logger.warning(
                "%s: the video was refused (%s): %s", job_id, response.status_code, detail
            )
            await self._fail(
                job, lease, f"The generated video was refused: {detail}"[:500], retry=True
            )

    async def _fail(self, job: Job, lease: Lease, error: str, *, retry: bool) -> None:
        job_id = str(job.generation_id)
        try:
            response = await self.api.call(
                "POST",
                f"/api/worker/jobs/{job_id}/fail",
                deadline=lease.deadline,
                body=lambda: {"json": {"lease_token": lease.token, "error": error, "retry": retry}},
            )
        except Unanswered:
            logger.warning("%s: no answer to fail before the lease ran out", job_id)
            return
        logger.info("%s: fail (retry %s) answered %s", job_id, retry, response.status_code)

    async def _give_back(self, job: Job, lease: Lease) -> None:
        # Bounded: a worker being stopped must not wait a whole lease for an app that is away.
        lease.deadline = min(lease.deadline, time.monotonic() + GIVE_BACK_SECONDS)
        logger.info("%s: giving the job back", job.generation_id)
        await self._fail(job, lease, GIVEN_BACK, retry=True)

    async def _heartbeats(self, job: Job, lease: Lease) -> str:
        """Runs beside the engine; returns why the job is lost (its end is the job's end)."""
        try:
            return await self._beat(job, lease)
        except Exception as exc:
            logger.exception("%s: heartbeats stopped", job.generation_id)
            return f"heartbeats stopped ({type(exc).__name__})"

    async def _beat(self, job: Job, lease: Lease) -> str:
        job_id = str(job.generation_id)
        sent_progress: int | None = None
        sent_time = time.monotonic()
        renew_every = lease.seconds / 3
        while True:
            await asyncio.sleep(self.beat_seconds)
            progress = job.progress
            if progress == sent_progress and time.monotonic() - sent_time < renew_every:
                continue
            sent_at = time.monotonic()
            try:
                response = await self.api.call(
                    "POST",
                    f"/api/worker/jobs/{job_id}/heartbeat",
                    deadline=lease.deadline,
                    body=lambda p=progress: {"json": {"lease_token": lease.token, "progress": p}},
                )
            except Unanswered:
                return "the lease ran out before the app answered"
            if response.status_code == 200:
                lease.renewed(sent_at)
                sent_progress, sent_time = progress, sent_at
            elif response.status_code == 410:
                return "deleted by its owner"
            elif response.status_code == 409:
                return "the lease is gone"
            else:
                logger.warning(
                    "%s: heartbeat answered %s: %s", job_id, response.status_code, _detail(response)
                )
                sent_time = sent_at
                if not lease.alive:
                    return "the lease ran out"


def _in_thread(engine: Engine, job: Job) -> asyncio.Future[Any]:
    """Run a sync engine in a daemon thread: one that ignores JobCancelled cannot keep the
    process from exiting."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)

    def target() -> None:
        try:
            result, error = engine(job), None
        except BaseException as exc:  # handed to the loop, never lost in the thread
            result, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=target, name=f"engine-{job.generation_id}", daemon=True).start()
    return future


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except Exception:
        detail = None
    return str(detail or response.reason_phrase or response.status_code)[:300]
