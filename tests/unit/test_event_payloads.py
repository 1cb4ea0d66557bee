"""The notification payload of an event (what crosses PostgreSQL) and the per-process fan-out."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from reelvault.events.bus import MAX_PAYLOAD_BYTES, decode, encode, fitting_payload
from reelvault.events.fanout import CLOSED, Event, Fanout


def event(data: str | None = '{"id":"x"}', kind: str = "generation") -> Event:
    return Event("18ed-ab", uuid.uuid4(), kind, data, uuid.uuid4())


def test_an_event_survives_its_payload_whole() -> None:
    original = event('{"prompt":"a | b | c","n":1}')
    assert decode(encode(original)) == original


def test_an_event_too_large_travels_as_its_ids() -> None:
    big = event('{"prompt":"' + "\U0001f3ac" * 2000 + '"}')
    payload = fitting_payload(big)
    assert len(payload.encode()) <= MAX_PAYLOAD_BYTES
    assert decode(payload) == Event(big.id, big.owner_id, big.kind, None, big.generation_id)


def test_an_event_just_under_the_limit_stays_whole() -> None:
    small = event('"' + "x" * 7800 + '"')
    assert decode(fitting_payload(small)).data == small.data


@pytest.mark.parametrize(
    "payload", ["", "hello", "other|x|y|z|=1", f"generation|{uuid.uuid4()}|id||?x", "a|b"]
)
def test_a_notification_that_is_not_ours_is_refused(payload: str) -> None:
    with pytest.raises(ValueError, match="not a reelvault event"):
        decode(payload)


async def test_a_full_queue_ends_only_its_own_stream() -> None:
    fanout = Fanout(queue_size=8)
    owner = uuid.uuid4()
    slow, fast = fanout.subscribe(owner), fanout.subscribe(owner)
    received = 0
    for n in range(20):
        fanout.publish(Event(str(n), owner, "generation", "{}"))
        assert await fast.next() is not None
        received += 1
    assert received == 20 and slow.ended == "overflow" and fast.ended is None
    assert await slow.next() is None  # what it had not read is gone: memory back at once
    assert fanout.dropped == 1 and fanout.open_streams == 1


async def test_closing_an_owner_ends_its_streams_and_nobody_elses() -> None:
    fanout = Fanout()
    mine, theirs = fanout.subscribe(uuid.uuid4()), fanout.subscribe(uuid.uuid4())
    fanout.publish(Event("1", mine.owner_id, CLOSED, None))
    assert await mine.next() is None
    fanout.publish(Event("2", theirs.owner_id, "deleted", "{}"))
    assert (await asyncio.wait_for(theirs.next(), 1)).id == "2"
