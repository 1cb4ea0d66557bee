"""One process's open streams, by owner, each with its own bounded queue.

A publish never waits: a subscriber whose queue is full is dropped (its queue emptied, its
stream ended), so a slow reader neither holds up the others nor grows this process's memory;
its client reconnects and refetches what it missed."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from uuid import UUID

QUEUE_SIZE = 256

logger = logging.getLogger("reelvault.events")


@dataclass(frozen=True, slots=True)
class Event:
    """One change for one owner. `data` is the JSON text a stream sends; None means the
    change did not fit a notification and the listener must re-read it (`generation_id`)."""

    id: str
    owner_id: UUID
    kind: str  # "generation", "deleted", or CLOSED (the owner's streams end)
    data: str | None
    generation_id: UUID | None = None


CLOSED = "closed"


@dataclass(eq=False, slots=True)
class Subscription:
    owner_id: UUID
    queue: asyncio.Queue[Event | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    # Why the stream ended ("overflow", "closed", "listener"); None while it runs.
    ended: str | None = None

    async def next(self) -> Event | None:
        """The next event; None once the stream has ended."""
        if self.ended is not None and self.queue.empty():
            return None
        return await self.queue.get()


class Fanout:
    def __init__(self, queue_size: int = QUEUE_SIZE) -> None:
        self.queue_size = queue_size
        self._by_owner: dict[UUID, set[Subscription]] = {}
        self.dropped = 0  # subscribers ended for falling behind, for /metrics and tests

    def subscribe(self, owner_id: UUID) -> Subscription:
        sub = Subscription(owner_id, asyncio.Queue(self.queue_size))
        self._by_owner.setdefault(owner_id, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        subs = self._by_owner.get(sub.owner_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._by_owner[sub.owner_id]

    def has_subscribers(self, owner_id: UUID) -> bool:
        return owner_id in self._by_owner

    @property
    def open_streams(self) -> int:
        return sum(len(subs) for subs in self._by_owner.values())

    def publish(self, event: Event) -> None:
        """Hand `event` to every stream of its owner, now, from the event loop's thread."""
        subs = self._by_owner.get(event.owner_id)
        if not subs:
            return
        if event.kind == CLOSED:
            for sub in list(subs):
                self._end(sub, CLOSED)
            return
        for sub in list(subs):
            try:
                sub.queue.put_nowait(event)
            except asyncio.QueueFull:
                self.dropped += 1
                self._end(sub, "overflow")
                logger.info(
                    "events: a stream of %s fell %d events behind and was ended",
                    event.owner_id,
                    self.queue_size,
                )

    def end_all(self, reason: str) -> None:
        """End every stream (the listener lost events): each client reconnects and refetches."""
        for subs in list(self._by_owner.values()):
            for sub in list(subs):
                self._end(sub, reason)

    def end(self, sub: Subscription, reason: str) -> None:
        """End one stream (its session is over), unless it has ended already."""
        if sub.ended is None:
            self._end(sub, reason)

    def _end(self, sub: Subscription, reason: str) -> None:
        sub.ended = reason
        self.unsubscribe(sub)
        # What it had not read yet goes at once (memory back), and its reader wakes up.
        while not sub.queue.empty():
            sub.queue.get_nowait()
        sub.queue.put_nowait(None)
