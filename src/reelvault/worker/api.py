"""The worker's side of the HTTP contract (httpx only): each call retried across the app's
restarts, until it gets an answer that is not the app's own trouble or its deadline passes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

from reelvault.worker.backoff import Backoff

logger = logging.getLogger("reelvault.worker")

# Answers that say "not now" rather than "no": the app restarting, Nginx without an upstream,
# the app shedding load.
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
TIMEOUT = httpx.Timeout(30.0, connect=5.0)


class Unanswered(Exception):
    """No answer before the deadline (or the worker was told to stop waiting)."""


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


class Api:
    def __init__(
        self, base_url: str, key: str, *, transport: httpx.AsyncBaseTransport | None = None
    ):
        self.http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={**bearer(key), "User-Agent": "reelvault-worker"},
            timeout=TIMEOUT,
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    async def call(
        self,
        method: str,
        path: str,
        *,
        deadline: float | None = None,
        abort: asyncio.Event | None = None,
        body: Callable[[], dict[str, Any]] | None = None,
    ) -> httpx.Response:
        """The first answer that is not a retried status. `body()` gives the request's keyword
        arguments afresh for each attempt (a file is opened again). Raises Unanswered once
        `deadline` (time.monotonic()) has passed or `abort` is set."""
        backoff = Backoff(initial=0.25, cap=5.0)
        while True:
            if abort is not None and abort.is_set():
                raise Unanswered("stopped")
            kwargs = body() if body is not None else {}
            try:
                response = await self.http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}"
            else:
                if response.status_code not in RETRIED_STATUSES:
                    return response
                problem = f"HTTP {response.status_code}"
            finally:
                for value in kwargs.get("files", {}).values():
                    with contextlib.suppress(Exception):
                        value[1].close()
            pause = backoff.next()
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Unanswered(problem)
                pause = min(pause, left)
            logger.info("%s %s: %s; trying again in %.1f s", method, path, problem, pause)
            if abort is None:
                await asyncio.sleep(pause)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(abort.wait(), pause)
