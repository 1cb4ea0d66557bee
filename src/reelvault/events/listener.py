"""PostgreSQL's notifications into this process's fan-out: ONE dedicated asyncpg connection
per app process (a pooled connection loses its LISTEN when it goes back to the pool, and
PgBouncer in transaction mode would swallow it), reconnected with backoff when it goes.

Nothing is replayed after a loss (NOTIFY keeps no history), so every open stream is ended when
the connection goes: each client reconnects once the listener is back and refetches what it
may have missed, instead of silently waiting for events that will never come."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy.engine import make_url

from reelvault.events.bus import CHANNEL, decode
from reelvault.events.fanout import Event, Fanout

logger = logging.getLogger("reelvault.events")

# How an operator (or a test) tells this connection apart in pg_stat_activity.
APPLICATION_NAME = "reelvault-events"
# The JSON of the owner's generation as the API answers it, None where it is gone.
Refetch = Callable[[UUID, UUID], Awaitable[str | None]]


def asyncpg_dsn(database_url: str) -> str:
    """`postgresql+asyncpg://...` (SQLAlchemy's) as the DSN asyncpg itself takes."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class PgListener:
    def __init__(
        self,
        dsn: str,
        fanout: Fanout,
        refetch: Refetch,
        *,
        ping_seconds: float = 5.0,
        max_backoff_seconds: float = 5.0,
    ) -> None:
        self.dsn = dsn
        self.fanout = fanout
        self.refetch = refetch
        self.ping_seconds = ping_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.ready = asyncio.Event()
        self.connections = 0  # how many times it has connected (reconnects show here)
        self._task: asyncio.Task[None] | None = None
        self._refetches: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="reelvault-events-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in list(self._refetches):
            task.cancel()
        self.fanout.end_all("shutdown")

    async def wait_ready(self, patience: float) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(patience):
                await self.ready.wait()
        return self.ready.is_set()

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            try:
                await self._listen_until_lost()
                backoff = 0.1  # it was up: the next attempt comes quickly
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a refused connect, a failed ping: try again later
                logger.warning("events listener: %s: %s", type(exc).__name__, exc)
            self.fanout.end_all("listener")
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff_seconds)

    async def _listen_until_lost(self) -> None:
        connection: asyncpg.Connection[Any] = await asyncpg.connect(
            self.dsn, timeout=10, server_settings={"application_name": APPLICATION_NAME}
        )
        lost = asyncio.Event()
        try:
            connection.add_termination_listener(lambda _conn: lost.set())
            await connection.add_listener(CHANNEL, self._notified)
            self.connections += 1
            self.ready.set()
            if self.connections > 1:
                logger.warning("events listener: reconnected")
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.ping_seconds):
                        await lost.wait()
                if not lost.is_set():
                    # A server that vanished without a FIN shows only here.
                    await connection.fetchval("SELECT 1", timeout=self.ping_seconds)
            logger.warning("events listener: the connection was lost")
        finally:
            self.ready.clear()
            connection.terminate()

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            event = decode(payload)
        except ValueError:
            logger.warning("events listener: ignored a notification that is not ours")
            return
        if not self.fanout.has_subscribers(event.owner_id):
            return
        if event.data is not None or event.generation_id is None:
            self.fanout.publish(event)
            return
        # Too large for a notification: read it back once for every stream of this process.
        task = asyncio.create_task(self._publish_refetched(event))
        self._refetches.add(task)
        task.add_done_callback(self._refetches.discard)

    async def _publish_refetched(self, event: Event) -> None:
        assert event.generation_id is not None
        try:
            data = await self.refetch(event.generation_id, event.owner_id)
        except Exception:
            logger.exception("events listener: re-reading %s failed", event.generation_id)
            return
        if data is not None:  # gone since: its "deleted" event follows
            self.fanout.publish(
                Event(event.id, event.owner_id, event.kind, data, event.generation_id)
            )
