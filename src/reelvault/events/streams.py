"""One open `GET /api/generations/events`: what its client receives, and when it ends.

No database connection is held while a stream is open. Once per ping interval one statement
(per 500 streams) re-checks the sessions of all of this process's open streams, so a logout, a
password change, an expired token or a deleted account ends its streams within one interval,
on every process; a deleted account's streams end at once besides (`end_streams`). One
statement for all of them, not one per stream: a thousand streams opened together would
otherwise re-check together, and their burst took the pool from every request."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine

from reelvault.accounts.models import auth_session
from reelvault.errors import ServiceUnavailable
from reelvault.events.bus import attach
from reelvault.events.fanout import Event, Fanout, Subscription
from reelvault.events.listener import PgListener, Refetch, asyncpg_dsn

if TYPE_CHECKING:
    from reelvault.accounts.auth import Principal
    from reelvault.settings import Settings

# EventSource reconnects this many milliseconds after a stream ends (an overflow, a lost
# listener, a restart); the first bytes also tell the client the stream is live.
OPENING = b"retry: 3000\n: live\n\n"
PING = b": ping\n\n"

_s = auth_session.c
_LIVE_SESSIONS = select(_s.id, _s.user_id).where(
    _s.id.in_(bindparam("session_ids", expanding=True)),
    _s.expires_at > bindparam("now", type_=DateTimeUTC(timezone=True)),
)
_CHECK_CHUNK = 500  # bound parameters per statement (SQLite's limit is far above)

logger = logging.getLogger("reelvault.events")


@functools.lru_cache(maxsize=256)
def wire(event: Event) -> bytes:
    """The message as sent: encoded once per event, however many streams send it."""
    return f"id: {event.id}\nevent: {event.kind}\ndata: {event.data}\n\n".encode()


class LiveEvents:
    def __init__(
        self,
        fanout: Fanout,
        engine: AsyncEngine,
        listener: PgListener | None,
        *,
        ping_seconds: float,
        listener_patience_seconds: float = 5.0,
    ) -> None:
        self.fanout = fanout
        self.engine = engine
        self.listener = listener
        self.ping_seconds = ping_seconds
        self.listener_patience_seconds = listener_patience_seconds
        self._open: dict[Subscription, Principal] = {}
        self._checker: asyncio.Task[None] | None = None

    @classmethod
    def build(cls, settings: Settings, engine: AsyncEngine, refetch: Refetch) -> LiveEvents:
        """This process's fan-out, registered for `emit` under the engine, fed by one
        PostgreSQL listener (or, on SQLite, by the commits of this process)."""
        fanout = Fanout(settings.events_queue_size)
        attach(engine.sync_engine, fanout)
        listener = (
            None
            if settings.is_sqlite
            else PgListener(asyncpg_dsn(settings.database_url), fanout, refetch)
        )
        return cls(fanout, engine, listener, ping_seconds=settings.events_ping_seconds)

    async def start(self) -> None:
        if self.listener is not None:
            await self.listener.start()
        self._checker = asyncio.create_task(self._check_sessions(), name="reelvault-events-auth")

    async def stop(self) -> None:
        if self._checker is not None:
            self._checker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checker
        if self.listener is not None:
            await self.listener.stop()
        self.fanout.end_all("shutdown")

    async def open(self, principal: Principal) -> AsyncIterator[bytes]:
        """The stream's body. 503 while this process cannot hear other processes' changes
        (its listener is reconnecting): a stream opened then would miss them silently."""
        if self.listener is not None and not await self.listener.wait_ready(
            self.listener_patience_seconds
        ):
            raise ServiceUnavailable(
                "Live updates are unavailable for a moment; try again shortly",
                headers={"Retry-After": "2"},
            )
        return self._stream(principal)

    async def _stream(self, principal: Principal) -> AsyncIterator[bytes]:
        # Subscribed in the body, not before: a client gone before its answer started leaves
        # no subscription behind (a generator never started never runs its `finally`).
        sub = self.fanout.subscribe(principal.id)
        self._open[sub] = principal
        try:
            yield OPENING
            next_ping = time.monotonic() + self.ping_seconds
            while True:
                event: Event | None = None
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.0, next_ping - time.monotonic())):
                        event = await sub.next()
                    if event is None:
                        return  # ended: overflow, closed account, lost listener, shutdown
                    yield wire(event)
                if time.monotonic() >= next_ping:
                    yield PING
                    next_ping = time.monotonic() + self.ping_seconds
        finally:
            self._open.pop(sub, None)
            self.fanout.unsubscribe(sub)

    async def _check_sessions(self) -> None:
        while True:
            await asyncio.sleep(self.ping_seconds)
            try:
                await self._end_signed_out()
            except Exception:  # the database away for a moment: streams stay, next round
                logger.warning("events: the sessions of open streams could not be checked")

    async def _end_signed_out(self) -> None:
        streams = list(self._open.items())
        live: set[tuple[UUID, UUID]] = set()
        async with self.engine.connect() as connection:
            for start in range(0, len(streams), _CHECK_CHUNK):
                chunk = streams[start : start + _CHECK_CHUNK]
                params = {
                    "session_ids": list({p.session_id for _, p in chunk}),
                    "now": datetime.now(UTC),
                }
                rows = await connection.execute(_LIVE_SESSIONS, params)
                live.update((row.id, row.user_id) for row in rows)
        for sub, principal in streams:
            if (principal.session_id, principal.id) not in live:
                self.fanout.end(sub, "signed out")
