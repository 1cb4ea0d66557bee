"""Lease statements and the expiry pass, shared by the claim (lazily) and the app's background
task (within seconds of a lease running out).

Time is the database's: PostgreSQL's `now()` (read once per transaction, then bound into each
statement); SQLite runs on this machine, so its clock is this process's clock."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import msgspec
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import bindparam, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reelvault.events import emit
from reelvault.generations.listing import ITEM_COLUMNS
from reelvault.generations.models import Generation, GenerationStatus
from reelvault.generations.schemas import GenerationItem, to_item
from reelvault.observability import log_event
from reelvault.workers.metrics import GENERATION_STATES, LEASE_EXPIRIES

logger = logging.getLogger("reelvault.workers")

STOPPED_RESPONDING = "The generator stopped responding"
PENDING = GenerationStatus.PENDING.value
PROCESSING = GenerationStatus.PROCESSING.value
COMPLETED = GenerationStatus.COMPLETED.value
FAILED = GenerationStatus.FAILED.value
# At most this many leases settled per statement: a backlog is worked off over a few passes
# instead of one long transaction.
EXPIRY_BATCH = 200

table = Generation.__table__
_g = table.c
NOW = bindparam("now", type_=DateTimeUTC(timezone=True))
# What every lifecycle statement returns: the item (for the answer and the event), its owner,
# and the lease.
RETURNED = (*ITEM_COLUMNS, _g.user_id, _g.lease_token, _g.lease_expires_at, _g.worker_key_id)

_leased = table.alias("leased")
_EXPIRED_IDS = (
    select(_leased.c.id)
    .where(_leased.c.status == PROCESSING, _leased.c.lease_expires_at <= NOW)
    .order_by(_leased.c.lease_expires_at)
    .limit(EXPIRY_BATCH)
    # Any number of processes may run this pass at once: each settles the rows nobody else
    # is settling, and none waits for another (nor deadlocks with it).
    .with_for_update(skip_locked=True)
)
_ANY_EXPIRED = (
    select(_leased.c.id)
    .where(_leased.c.status == PROCESSING, _leased.c.lease_expires_at <= NOW)
    .limit(1)
)
_out_of_attempts = _g.attempts >= bindparam("max_attempts")
EXPIRE = (
    update(table)
    .where(_g.id.in_(_EXPIRED_IDS), _g.status == PROCESSING, _g.lease_expires_at <= NOW)
    .values(
        status=case((_out_of_attempts, FAILED), else_=PENDING),
        error=case((_out_of_attempts, STOPPED_RESPONDING), else_=None),
        progress=case((_out_of_attempts, None), else_=0),
        lease_token=None,
        lease_expires_at=None,
        lease_seconds=None,
        updated_at=NOW,
    )
    .returning(*RETURNED)
)
_DB_NOW = select(func.now())


async def database_now(session: AsyncSession) -> datetime:
    """The time every statement of this transaction is fenced with."""
    if session.get_bind().dialect.name == "postgresql":
        return (await session.execute(_DB_NOW)).scalar_one()
    return datetime.now(UTC)


async def expire_leases(
    session: AsyncSession, now: datetime, max_attempts: int, *, only_if_any: bool = False
) -> list[Any]:
    """Settle every lease that ran out: back to pending, or failed once out of attempts. One
    statement, so every process that runs it agrees. `only_if_any` reads first and writes only
    where there is something to settle (the background pass: no write lock every 2 s)."""
    if only_if_any and (await session.execute(_ANY_EXPIRED, {"now": now})).first() is None:
        return []
    rows = (await session.execute(EXPIRE, {"now": now, "max_attempts": max_attempts})).all()
    for row in rows:
        outcome = "failed" if row.status == FAILED else "requeued"
        LEASE_EXPIRIES.labels(outcome).inc()
        GENERATION_STATES.labels(row.status).inc()
        log_event(
            logger,
            "lease-expired",
            logging.WARNING,
            generation_id=row.id,
            user_id=row.user_id,
            worker_key_id=row.worker_key_id,
            attempts=row.attempts,
            outcome=outcome,
        )
        await announce(session, row)
    return rows


async def announce(session: AsyncSession, row: Any) -> GenerationItem:
    """The row as the API shows it, sent to the owner's live streams at commit."""
    item = to_item(row, file_available=row.status == COMPLETED)
    await emit(session, row.user_id, "generation", msgspec.to_builtins(item))
    return item
