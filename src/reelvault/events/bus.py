"""`emit`: a change for an owner's open streams, delivered once its transaction commits.

PostgreSQL: `pg_notify` inside the caller's transaction. The server delivers it at commit (never
after a rollback) to every app process's listener, on this machine or another.
SQLite: one process only. The event waits in the session until its commit, then goes straight
to this process's fan-out; a rollback drops it. SQLite serves one app process, so nothing has
to cross processes there."""

from __future__ import annotations

import secrets
import time
import weakref
from typing import Any, Literal
from uuid import UUID

import msgspec
from sqlalchemy import Engine, event, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from reelvault.events.fanout import CLOSED, Event, Fanout

CHANNEL = "reelvault_events"
# PostgreSQL refuses payloads of 8000 bytes or more; a larger event travels as its ids.
MAX_PAYLOAD_BYTES = 7999
_PENDING = "reelvault.events.pending"
_NOTIFY = text("SELECT pg_notify(:channel, :payload)")

# Each app registers its fan-out under its engine, so a service needs nothing but its session
# to emit; the registry holds no app alive (weak keys), and engines are never shared by apps.
_fanouts: weakref.WeakKeyDictionary[Engine, Fanout] = weakref.WeakKeyDictionary()

Kind = Literal["generation", "deleted"]


def attach(engine: Engine, fanout: Fanout) -> None:
    _fanouts[engine] = fanout


def detach(engine: Engine) -> None:
    _fanouts.pop(engine, None)


async def emit(session: AsyncSession, owner_id: UUID, kind: Kind, data: dict[str, Any]) -> None:
    """Deliver this event to the owner's subscribers once the session's transaction commits;
    never if it rolls back. `data` is what the stream sends: the GenerationItem's fields for
    "generation", `{"generation_id": ...}` for "deleted"."""
    generation_id = data.get("id") if kind == "generation" else data.get("generation_id")
    await _emit(
        session,
        Event(
            id=new_event_id(),
            owner_id=owner_id,
            kind=kind,
            data=msgspec.json.encode(data).decode(),
            generation_id=UUID(str(generation_id)) if generation_id is not None else None,
        ),
    )


async def end_streams(session: AsyncSession, owner_id: UUID) -> None:
    """At this transaction's commit, end every open stream of the owner (a closed account)."""
    await _emit(session, Event(id=new_event_id(), owner_id=owner_id, kind=CLOSED, data=None))


async def _emit(session: AsyncSession, event_: Event) -> None:
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        await session.execute(_NOTIFY, {"channel": CHANNEL, "payload": fitting_payload(event_)})
        return
    engine = bind if isinstance(bind, Engine) else bind.engine
    fanout = _fanouts.get(engine)
    if fanout is None:
        return  # no app in this process (a CLI command): on SQLite nobody could be listening
    if not session.in_transaction():
        # Tie the event to a transaction, so that a rollback (or a close) drops it.
        await session.connection()
    _pending(session.sync_session, fanout).append(event_)


def _pending(sync_session: Session, fanout: Fanout) -> list[Event]:
    pending = sync_session.info.get(_PENDING)
    if pending is None:
        pending = sync_session.info[_PENDING] = []

        def delivered(_session: Session) -> None:
            events, pending[:] = list(pending), []
            for each in events:
                fanout.publish(each)

        def ended(_session: Session, transaction: SessionTransaction) -> None:
            # Whatever the outermost transaction still holds went with its rollback or close.
            if transaction.parent is None:
                pending.clear()

        event.listen(sync_session, "after_commit", delivered)
        event.listen(sync_session, "after_transaction_end", ended)
    return pending


def new_event_id() -> str:
    """Unique, and roughly in time order across processes (the stream's `id:` lines)."""
    return f"{time.time_ns():x}-{secrets.token_hex(4)}"


def fitting_payload(event_: Event) -> str:
    """The whole event where it fits a notification, else its ids for a re-read."""
    payload = encode(event_)
    if len(payload.encode()) <= MAX_PAYLOAD_BYTES:
        return payload
    return encode(Event(event_.id, event_.owner_id, event_.kind, None, event_.generation_id))


def encode(event_: Event) -> str:
    # Fixed fields first, the JSON last and untouched: the listener splits four times and hands
    # the same text to every subscriber, with no JSON decoding on the way.
    gid = event_.generation_id or ""
    body = "" if event_.data is None else event_.data
    marker = "-" if event_.data is None else "="
    return f"{event_.kind}|{event_.owner_id}|{event_.id}|{gid}|{marker}{body}"


def decode(payload: str) -> Event:
    """The inverse of `encode`; ValueError for anything else."""
    try:
        kind, owner, event_id, gid, rest = payload.split("|", 4)
        if kind not in ("generation", "deleted", CLOSED) or not rest or rest[0] not in "=-":
            raise ValueError
        return Event(
            id=event_id,
            owner_id=UUID(owner),
            kind=kind,
            data=rest[1:] if rest[0] == "=" else None,
            generation_id=UUID(gid) if gid else None,
        )
    except ValueError:
        raise ValueError("not a reelvault event") from None
