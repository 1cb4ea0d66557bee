"""The worker side of the lifecycle: claim, heartbeat, complete, fail.

Every call after the claim is fenced by its lease, in the statement that writes: the row must
still be this lease's (`lease_token`), `processing`, and unexpired by the database's clock.
Zero rows is 409 (the lease ran out or another claim replaced it), or 410 where the row is
gone (the owner deleted it: the worker should stop)."""

from __future__ import annotations

import logging
import math
import re
import secrets
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any, NoReturn
from uuid import UUID

from advanced_alchemy.types import GUID
from sqlalchemy import bindparam, case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reelvault.errors import Conflict, Gone, InvalidValue
from reelvault.generations.schemas import GenerationItem
from reelvault.generations.services import GenerationService
from reelvault.observability import log_event
from reelvault.workers.auth import Worker
from reelvault.workers.leases import (
    COMPLETED,
    FAILED,
    NOW,
    PENDING,
    PROCESSING,
    RETURNED,
    announce,
    database_now,
    expire_leases,
    table,
)
from reelvault.workers.metrics import ATTEMPTS, CLAIMS, GENERATION_STATES, TIME_TO_COMPLETE
from reelvault.workers.schemas import ClaimedJob

logger = logging.getLogger("reelvault.workers")

LEASE_LOST = "The lease is no longer valid: it ran out, or another worker holds the job now"
DELETED = "The generation was deleted by its owner; stop working on it"
COST_MAX = 1_000_000.0
LEASE_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

_g = table.c
_queued = table.alias("queued")
# The oldest pending generation of any owner, locked for this statement only (PostgreSQL:
# concurrent claimers skip it and take the next; SQLite has one writer at a time, so the one
# statement is atomic there as it is).
_NEXT = (
    select(_queued.c.id)
    .where(_queued.c.status == PENDING)
    .order_by(_queued.c.created_at, _queued.c.id)
    .limit(1)
    .with_for_update(skip_locked=True)
    .scalar_subquery()
)
_CLAIM = (
    update(table)
    .where(_g.id == _NEXT, _g.status == PENDING)
    .values(
        status=PROCESSING,
        progress=0,
        error=None,
        attempts=_g.attempts + 1,
        lease_token=bindparam("new_token"),
        lease_seconds=bindparam("new_seconds"),
        lease_expires_at=bindparam("expires_at", type_=NOW.type),
        worker_key_id=bindparam("worker", type_=GUID()),
        updated_at=NOW,
    )
    .returning(*RETURNED, _g.lease_seconds)
)
_FENCE = (
    _g.id == bindparam("job"),
    _g.lease_token == bindparam("token"),
    _g.status == PROCESSING,
    _g.lease_expires_at > NOW,
)
_LEASE = select(_g.lease_seconds, _g.progress).where(*_FENCE)
_HEARTBEAT = (
    update(table)
    .where(*_FENCE)
    .values(
        progress=bindparam("new_progress"),
        lease_expires_at=bindparam("expires_at", type_=NOW.type),
        updated_at=NOW,
    )
    .returning(*RETURNED)
)
_JOB = select(_g.user_id, _g.status).where(_g.id == bindparam("generation_id"))
_EXISTS = select(_g.id).where(_g.id == bindparam("generation_id"))
_RELEASED = {"lease_token": None, "lease_expires_at": None, "lease_seconds": None}


class WorkerService:
    def __init__(
        self, session: AsyncSession, generations: GenerationService, *, max_attempts: int
    ) -> None:
        self.session = session
        self.generations = generations
        self.max_attempts = max_attempts

    async def claim(self, worker: Worker, lease_seconds: int) -> ClaimedJob | None:
        now = await database_now(self.session)
        # Lazily, before taking one: a lease that ran out is settled now rather than at the
        # next background pass, so its job can be claimed at once.
        await expire_leases(self.session, now, self.max_attempts)
        token = secrets.token_urlsafe(24)
        row = (
            await self.session.execute(
                _CLAIM,
                {
                    "now": now,
                    "new_token": token,
                    "new_seconds": lease_seconds,
                    "expires_at": now + timedelta(seconds=lease_seconds),
                    "worker": worker.id,
                },
            )
        ).first()
        if row is None:
            CLAIMS.labels("empty").inc()
            return None
        CLAIMS.labels("claimed").inc()
        ATTEMPTS.observe(row.attempts)
        GENERATION_STATES.labels(PROCESSING).inc()
        await announce(self.session, row)
        log_event(
            logger,
            "claim",
            generation_id=row.id,
            user_id=row.user_id,
            worker=worker.name,
            attempt=row.attempts,
            lease_seconds=lease_seconds,
        )
        return ClaimedJob(
            generation_id=row.id,
            prompt=row.prompt,
            duration=row.duration,
            aspect_ratio=row.aspect_ratio,
            attempt=row.attempts,
            lease_token=token,
            lease_expires_at=row.lease_expires_at,
        )

    async def heartbeat(
        self, worker: Worker, generation_id: UUID, lease_token: str, progress: int
    ) -> datetime:
        now = await database_now(self.session)
        fence = {"job": generation_id, "token": lease_token, "now": now}
        lease = (await self.session.execute(_LEASE, fence)).first()
        if lease is None:
            await self._lease_lost(generation_id, worker, "heartbeat")
        expires_at = now + timedelta(seconds=lease.lease_seconds)
        row = (
            await self.session.execute(
                _HEARTBEAT, {**fence, "new_progress": progress, "expires_at": expires_at}
            )
        ).first()
        if row is None:  # settled between the two statements
            await self._lease_lost(generation_id, worker, "heartbeat")
        if progress != lease.progress:
            await announce(self.session, row)
        log_event(
            logger,
            "heartbeat",
            logging.DEBUG,
            generation_id=generation_id,
            worker=worker.name,
            progress=progress,
        )
        return expires_at

    async def complete(
        self,
        worker: Worker,
        generation_id: UUID,
        body: AsyncIterator[bytes],
        content_type: str | None,
    ) -> GenerationItem:
        """The worker's video, through exactly the import's pipeline; the generation becomes
        `completed` only if the lease still holds when the files are in place. Any failure
        (a bad file: 415; a lost lease: 409/410) leaves the job as it was and no file."""
        job = (await self.session.execute(_JOB, {"generation_id": generation_id})).first()
        if job is None:
            await self._lease_lost(generation_id, worker, "complete")
        if job.status != PROCESSING:  # no lease can be valid: refuse before the body streams
            raise Conflict(LEASE_LOST)
        generations = self.generations
        async with generations.received_video(job.user_id, body, content_type) as (op, received):
            lease_token = received.fields.get("lease_token", "")
            if not LEASE_TOKEN.match(lease_token):
                raise InvalidValue("Send the job's lease_token as a form field")
            cost = parse_cost(received.fields.get("cost"))
            assert received.file_path is not None  # received_video requires the file
            # Before the media child's seconds of work: the lease must still hold.
            await self._check_lease(generation_id, lease_token, worker)
            await self.session.close()

            async def save(media: dict[str, Any]) -> GenerationItem:
                now = await database_now(self.session)
                values = {
                    **media,
                    **_RELEASED,
                    "status": COMPLETED,
                    "progress": None,
                    "error": None,
                    "completed_at": now,
                    "updated_at": now,
                }
                if cost is not None:
                    values["cost"] = cost
                row = (
                    await self.session.execute(
                        update(table).where(*_FENCE).values(**values).returning(*RETURNED),
                        {"job": generation_id, "token": lease_token, "now": now},
                    )
                ).first()
                if row is None:
                    await self._lease_lost(generation_id, worker, "complete")
                item = await announce(self.session, row)
                await self.session.commit()
                GENERATION_STATES.labels(COMPLETED).inc()
                TIME_TO_COMPLETE.observe(max(0.0, (now - row.created_at).total_seconds()))
                log_event(
                    logger,
                    "complete",
                    generation_id=generation_id,
                    user_id=row.user_id,
                    worker=worker.name,
                    bytes=row.file_size,
                )
                return item

            return await generations.attach_video(
                generation_id, job.user_id, op, received.file_path, save
            )

    async def fail(
        self, worker: Worker, generation_id: UUID, lease_token: str, error: str, retry: bool
    ) -> GenerationItem:
        sentence = error.strip()
        if not sentence:
            raise InvalidValue("The error must be a sentence the owner can read")
        now = await database_now(self.session)
        if retry:
            again = _g.attempts < bindparam("max_attempts")
            status: Any = case((again, PENDING), else_=FAILED)
            reason: Any = case((again, None), else_=bindparam("reason"))
            progress: Any = case((again, 0), else_=None)
        else:
            status, reason, progress = FAILED, bindparam("reason"), None
        statement = (
            update(table)
            .where(*_FENCE)
            .values(status=status, error=reason, progress=progress, updated_at=NOW, **_RELEASED)
            .returning(*RETURNED)
        )
        row = (
            await self.session.execute(
                statement,
                {
                    "job": generation_id,
                    "token": lease_token,
                    "now": now,
                    "reason": sentence,
                    "max_attempts": self.max_attempts,
                },
            )
        ).first()
        if row is None:
            await self._lease_lost(generation_id, worker, "fail")
        GENERATION_STATES.labels(row.status).inc()
        log_event(
            logger,
            "fail",
            generation_id=generation_id,
            user_id=row.user_id,
            worker=worker.name,
            retry=retry,
            outcome=row.status,
            attempts=row.attempts,
        )
        return await announce(self.session, row)

    async def _check_lease(self, generation_id: UUID, lease_token: str, worker: Worker) -> None:
        now = await database_now(self.session)
        fence = {"job": generation_id, "token": lease_token, "now": now}
        if (await self.session.execute(_LEASE, fence)).first() is None:
            await self._lease_lost(generation_id, worker, "complete")

    async def _lease_lost(self, generation_id: UUID, worker: Worker, step: str) -> NoReturn:
        gone = (await self.session.execute(_EXISTS, {"generation_id": generation_id})).first()
        log_event(
            logger,
            step,
            generation_id=generation_id,
            worker=worker.name,
            outcome="deleted" if gone is None else "lease-lost",
        )
        if gone is None:
            raise Gone(DELETED)
        raise Conflict(LEASE_LOST)


def parse_cost(raw: str | None) -> float | None:
    """The optional `cost` form field: USD, finite, >= 0."""
    if raw is None or not raw.strip():
        return None
    try:
        cost = float(raw)
    except ValueError:
        raise InvalidValue("The cost must be a number of US dollars") from None
    if not math.isfinite(cost) or cost < 0 or cost > COST_MAX:
        raise InvalidValue(f"The cost must be between 0 and {COST_MAX:g} US dollars")
    return cost
