"""Argon2id password hashing on a pool of its own, bounded in threads and in waiting callers.

Each hash or verification takes 64 MiB and a few hundred ms of CPU on purpose. On the shared
thread pool, a burst of sign-ins used every worker thread (file reads and other requests waited
behind them) and a gigabyte of memory; here at most `workers` run at once, and beyond a short
queue a caller is refused at once (503 with Retry-After) instead of piling up.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from anyio import to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from reelvault.errors import DomainError

T = TypeVar("T")

_hasher = PasswordHasher()
# Verified when the e-mail is unknown, so both failures take the same time.
_DUMMY_HASH = _hasher.hash("reelvault-timing-equaliser")
# Callers allowed to wait per worker thread: a few seconds of work at most (a waiting caller
# holds no Argon2 memory, only its request), so a burst of people signing in at once is served.
QUEUE_PER_WORKER = 16
HASHING_NICENESS = 10  # CPU weight 110 against the event loop's 1024 (Linux's CFS)


class HashingBusy(DomainError):
    status_code = 503
    detail = "Too many sign-ins at once; try again in a moment"

    def __init__(self) -> None:
        super().__init__(headers={"Retry-After": "1"})


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def _yield_the_cpu() -> None:
    """Run this worker (and the threads Argon2 starts for its lanes, which inherit it) at a
    lower priority: each hash keeps `parallelism` (4) cores busy, and a burst of sign-ins must
    not take the CPU from the event loop that answers everyone else. Lowering one's own
    priority needs no privilege; where the platform has no per-thread priority, nothing."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)


class Passwords:
    """The app's Argon2 pool: created with the app, closed with it (see app.py)."""

    def __init__(self, workers: int, *, queue_per_worker: int = QUEUE_PER_WORKER) -> None:
        self.workers = workers
        self.capacity = workers * (1 + queue_per_worker)
        self._executor = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="argon2", initializer=_yield_the_cpu
        )
        self._admitted = 0

    def admit(self) -> None:
        """Raise HashingBusy where the pool is full; call before any other work of a sign-in,
        so a refused caller costs nothing (its attempt is not even counted)."""
        if self._admitted >= self.capacity:
            raise HashingBusy()

    async def hash(self, password: str) -> str:
        return await self._run(_hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True where `password` matches; a missing hash (unknown e-mail) costs the same time."""
        return await self._run(_verify, password_hash, password)

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        self.admit()
        self._admitted += 1  # one event loop: nothing runs between the check and the increment
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)
        finally:
            self._admitted -= 1

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


# Outside the app's pool, for the CLI, the demo and the benches. Request handlers take the
# `passwords` dependency instead, so that their work stays bounded.
async def hash_password(password: str) -> str:
    return await to_thread.run_sync(_hasher.hash, password)
