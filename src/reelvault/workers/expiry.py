"""The background pass that settles leases which ran out, in every app process.

Every `interval` seconds: one read of the leases index, and only where a lease has run out
the one statement of `leases.expire_leases` (SKIP LOCKED on PostgreSQL), so any number of
processes may run it side by side and agree."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig

from reelvault.workers.leases import database_now, expire_leases

logger = logging.getLogger("reelvault.workers")
INTERVAL_SECONDS = 2.0


class LeaseExpiry:
    def __init__(
        self,
        db_config: SQLAlchemyAsyncConfig,
        max_attempts: int,
        interval: float = INTERVAL_SECONDS,
    ) -> None:
        self.db_config = db_config
        self.max_attempts = max_attempts
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="lease-expiry")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run_once(self) -> int:
        async with self.db_config.get_session() as session:
            now = await database_now(session)
            rows = await expire_leases(session, now, self.max_attempts, only_if_any=True)
            await session.commit()
        return len(rows)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.run_once()
            except Exception:
                # The database away for a moment: the next pass tries again.
                logger.exception("lease expiry pass failed")
