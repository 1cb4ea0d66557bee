"""The engine protocol: what `reelvault worker` runs for each job it claims.

An engine is a callable, named on the command line as `--engine module:callable` (or `demo`,
the bundled one: `reelvault.worker.demo_engine:generate`). The worker calls it once per job:

    def generate(job: Job) -> str | os.PathLike[str]: ...        # run in a thread of its own
    async def generate(job: Job) -> str | os.PathLike[str]: ...  # run on the worker's loop

What it is given (`Job`):
- `prompt`, `duration` (seconds, 1-60), `aspect_ratio` (`9:16`, `16:9` or `1:1`),
  `generation_id` and `attempt` (1 for the first try).
- `workdir`: an empty directory of this job's own. Write there: the worker deletes it when
  the job ends, whatever happened.
- `report(progress)`: 0-100, as often as you like (it only records the number; the worker
  sends the latest one with its next heartbeat). When the job must stop (the owner deleted
  it, the lease was lost, the worker is shutting down) `report` raises `JobCancelled`: let it
  propagate. An async engine is also cancelled the usual way (`asyncio.CancelledError`).
- `cost`: set it (USD) before returning where the model charges for the clip.

What it gives back: the path of the finished MP4. It is uploaded as it is, through the
import's rules (it must decode as a video).

How it fails: raise `CannotGenerate("a sentence")` for a job this engine will never make (a
refused prompt, an unsupported size): the generation fails with that sentence. Any other
exception is taken as transient: the job goes back to the queue (until the server's attempt
limit) with a short sentence made from the exception.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias
from uuid import UUID

DEMO = "demo"
DEMO_ENGINE = "reelvault.worker.demo_engine:generate"
ERROR_MAX = 500  # the contract's bound on `error`

Result: TypeAlias = "str | os.PathLike[str]"
Engine: TypeAlias = Callable[["Job"], "Result | Awaitable[Result]"]


class CannotGenerate(Exception):
    """This job can never be made by this engine: the generation fails with this sentence."""


class JobCancelled(Exception):
    """Raised by `Job.report` once the job must stop: let it propagate."""


class EngineNotFound(ValueError):
    pass


@dataclass
class Job:
    generation_id: UUID
    prompt: str
    duration: int
    aspect_ratio: str | None
    attempt: int
    workdir: Path
    cost: float | None = None
    progress: int = 0
    _cancelled: threading.Event = field(default_factory=threading.Event, repr=False)

    def report(self, progress: int) -> None:
        """Record how far the engine is (0-100); raises JobCancelled once the job must stop."""
        if self._cancelled.is_set():
            raise JobCancelled("the job was stopped")
        self.progress = min(100, max(0, int(progress)))

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()


def load_engine(spec: str) -> Engine:
    """`module:callable` (or `demo`) to the callable, with a sentence where it is not one."""
    spec = DEMO_ENGINE if spec == DEMO else spec
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise EngineNotFound(f"An engine is named as module:callable (or 'demo'), not {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise EngineNotFound(
            f"The engine's module {module_name!r} cannot be imported: {exc}"
        ) from None
    target: Any = module
    for part in attribute.split("."):
        target = getattr(target, part, None)
        if target is None:
            raise EngineNotFound(f"The module {module_name!r} has no {attribute!r}")
    if not callable(target):
        raise EngineNotFound(f"{spec!r} is not callable")
    return target


def is_async(engine: Engine) -> bool:
    return inspect.iscoroutinefunction(engine) or inspect.iscoroutinefunction(
        getattr(engine, "__call__", None)  # noqa: B004 (an instance with an async __call__)
    )


# An absolute path in a message (POSIX or Windows): the owner reads the sentence, and no
# field of the API ever holds a file-system path.
_PATH = re.compile(r"(?<![\w.:/])(?:[A-Za-z]:\\|/)[^\s'\"]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def failure_sentence(exc: BaseException) -> str:
    """What the owner reads when the engine raised `exc`: one line, 1-500 characters."""
    message = _CONTROL.sub(" ", str(exc)).strip()
    message = " ".join(_PATH.sub("<path>", message).split())
    if isinstance(exc, CannotGenerate):
        sentence = message or "The generator cannot make this video."
    else:
        kind = type(exc).__name__
        sentence = (
            f"The generator failed ({kind}): {message}"
            if message
            else (f"The generator failed ({kind}).")
        )
    if len(sentence) > ERROR_MAX:
        sentence = sentence[: ERROR_MAX - 3].rstrip() + "..."
    return sentence
