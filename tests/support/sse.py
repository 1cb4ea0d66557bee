"""A Server-Sent Events client for tests: the stream read in a task, each message parsed as the
WHATWG spec says (comments kept, so pings can be seen)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Message:
    event: str | None = None
    id: str | None = None
    data: str = ""
    comments: list[str] = field(default_factory=list)

    @property
    def json(self) -> Any:
        return json.loads(self.data)


@dataclass
class Stream:
    response: httpx.Response
    messages: asyncio.Queue[Message | None] = field(default_factory=asyncio.Queue)
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    async def next(self, within: float = 10) -> Message | None:
        """The next message (comments included); None once the stream has ended."""
        async with asyncio.timeout(within):
            return await self.messages.get()

    async def next_event(self, within: float = 10) -> Message:
        """The next message with an `event:`, skipping comments; fails if the stream ends."""
        async with asyncio.timeout(within):
            while True:
                message = await self.messages.get()
                assert message is not None, "the stream ended"
                if message.event is not None:
                    return message

    async def events_for(self, seconds: float) -> list[Message]:
        """Every event that arrives within `seconds` (for "nothing else came")."""
        seen: list[Message] = []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while True:
                    message = await self.messages.get()
                    if message is None:
                        break
                    if message.event is not None:
                        seen.append(message)
        return seen

    async def wait_ended(self, within: float) -> None:
        async with asyncio.timeout(within):
            await self.ended.wait()


async def _read(stream: Stream) -> None:
    message = Message()
    try:
        async for line in stream.response.aiter_lines():
            if line == "":
                if message.event or message.data or message.comments or message.id:
                    await stream.messages.put(message)
                message = Message()
            elif line.startswith(":"):
                message.comments.append(line[1:].strip())
            else:
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "event":
                    message.event = value
                elif name == "id":
                    message.id = value
                elif name == "data":
                    message.data = f"{message.data}\n{value}" if message.data else value
    except (httpx.HTTPError, asyncio.CancelledError):
        pass
    finally:
        stream.ended.set()
        await stream.messages.put(None)


@contextlib.asynccontextmanager
async def subscribed(
    client: httpx.AsyncClient, path: str = "/api/generations/events", **kwargs: Any
) -> AsyncIterator[Stream]:
    """An open stream, live: its opening comment has arrived, so the app has subscribed it."""
    timeout = httpx.Timeout(30, read=None)
    async with client.stream("GET", path, timeout=timeout, **kwargs) as response:
        assert response.status_code == 200, (await response.aread()).decode()
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = Stream(response)
        reader = asyncio.create_task(_read(stream))
        try:
            opening = await stream.next(within=10)
            assert opening is not None and "live" in opening.comments, opening
            yield stream
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
