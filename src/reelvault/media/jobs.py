"""Untrusted files are prepared in child processes (`reelvault.media.child`), a bounded number
at once: a bomb or a crash of FFmpeg costs that child, never the app's memory or its workers.

A child that is killed (by a signal, its CPU limit or the wall clock), runs out of memory or
fails in any other way is a refusal of the file, with a sentence, like any other.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import anyio
from anyio.abc import ByteReceiveStream, Process

from reelvault.media.child import STORYBOARD, STORYBOARD_NAME
from reelvault.media.errors import NotAVideoError
from reelvault.media.ingest import FASTSTART_NAME, THUMBNAIL_NAME, PreparedVideo
from reelvault.media.limits import MediaLimits
from reelvault.media.probe import VideoInfo
from reelvault.media.storyboard import StoryboardLayout

logger = logging.getLogger("reelvault.media")

FAILED = "The video could not be processed within this service's memory and time limits."
_MAX_ANSWER = 64 * 1024  # the child's JSON answer is a few hundred bytes
_MAX_LOG = 8 * 1024  # the tail of its stderr, for the log


class MediaJobs:
    """Runs `prepare_video` in a confined child; at most `limits.jobs` children at once (the
    others wait their turn). One per app process: the bound holds across its requests."""

    def __init__(self, limits: MediaLimits) -> None:
        self.limits = limits
        self._slots = anyio.CapacityLimiter(limits.jobs)

    async def prepare(self, upload: Path, workdir: Path) -> PreparedVideo:
        """Probe, faststart and thumbnail `upload` into `workdir`; `NotAVideoError` otherwise."""
        async with self._slots:
            process, out, err = await self._run([str(upload), str(workdir)], workdir)
        return _answer(process, out, err, upload, workdir)

    async def storyboard(self, video: Path, workdir: Path) -> tuple[Path, StoryboardLayout]:
        """The storyboard sprite of a stored video, written into `workdir`, and its layout;
        `NotAVideoError` where the video cannot be read within the limits."""
        async with self._slots:
            process, out, err = await self._run([STORYBOARD, str(video), str(workdir)], workdir)
        payload = _checked_payload(process, out, err, workdir)
        if payload.get("storyboard") != STORYBOARD_NAME:
            raise NotAVideoError(FAILED, reason="bad_answer")
        try:
            layout = StoryboardLayout(**payload["layout"])
        except (TypeError, KeyError):
            raise NotAVideoError(FAILED, reason="bad_answer") from None
        return workdir / STORYBOARD_NAME, layout

    async def _run(
        self, arguments: list[str], workdir: Path
    ) -> tuple[Process, bytearray, bytearray]:
        command = [
            sys.executable,
            "-m",
            "reelvault.media.child",
            *arguments,
            json.dumps(asdict(self.limits)),
        ]
        # No REELVAULT_* settings (the secret key among them) for a process that parses hostile
        # bytes; few malloc arenas, as each thread's would reserve 64 MiB of its address space.
        env = {k: v for k, v in os.environ.items() if not k.startswith("REELVAULT_")}
        env["MALLOC_ARENA_MAX"] = "2"
        process = await anyio.open_process(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        out, err = bytearray(), bytearray()
        try:
            with anyio.fail_after(self.limits.wall_seconds):
                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(_drain, process.stdout, out, _MAX_ANSWER, False)
                    tasks.start_soon(_drain, process.stderr, err, _MAX_LOG, True)
                    await process.wait()
        except TimeoutError:
            _log_failure("ran out of wall-clock time", process, err, workdir)
            raise NotAVideoError(
                f"The video took longer than {self.limits.wall_seconds:.0f} seconds to process.",
                reason="timeout",
            ) from None
        finally:
            await _reap(process)
        return process, out, err


async def _drain(
    stream: ByteReceiveStream | None, into: bytearray, cap: int, keep_tail: bool
) -> None:
    if stream is None:
        return
    async for chunk in stream:
        into.extend(chunk)
        if len(into) > cap:
            # Keep reading (a child blocked on a full pipe would never finish), keep little.
            excess = slice(0, len(into) - cap) if keep_tail else slice(cap, None)
            del into[excess]


async def _reap(process: Process) -> None:
    """Kill the child if it still runs (a timeout, a cancelled request) and wait for it."""
    with anyio.CancelScope(shield=True):
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        await process.wait()
        await process.aclose()


def _checked_payload(process: Process, out: bytearray, err: bytearray, workdir: Path) -> dict:  # type: ignore[type-arg]
    """The child's answer; `NotAVideoError` for a refusal, a crash or no answer."""
    payload = _payload(out) if process.returncode == 0 else None
    if payload is None:
        _log_failure("failed", process, err, workdir)
        raise NotAVideoError(FAILED, reason=_reason(process.returncode))
    if "error" in payload:
        raise NotAVideoError(payload["error"]["message"], reason=payload["error"]["reason"])
    return payload


def _answer(
    process: Process, out: bytearray, err: bytearray, upload: Path, workdir: Path
) -> PreparedVideo:
    payload = _checked_payload(process, out, err, workdir)
    # The child names files in the work folder; the paths are ours.
    if payload["video"] not in (upload.name, FASTSTART_NAME) or payload["thumbnail"] != (
        THUMBNAIL_NAME
    ):
        raise NotAVideoError(FAILED, reason="bad_answer")
    video = workdir / payload["video"]
    return PreparedVideo(
        video, workdir / THUMBNAIL_NAME, VideoInfo(**payload["info"]), video.stat().st_size
    )


def _payload(out: bytearray) -> dict | None:  # type: ignore[type-arg]
    lines = bytes(out).strip().splitlines()
    try:
        payload = json.loads(lines[-1]) if lines else None
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _reason(returncode: int | None) -> str:
    if returncode is not None and returncode < 0:
        with contextlib.suppress(ValueError):
            return f"killed_{signal.Signals(-returncode).name.lower()}"  # sigxcpu, sigkill, ...
        return "killed"
    return "failed"


def _log_failure(how: str, process: Process, err: bytearray, workdir: Path) -> None:
    # The last lines of its stderr (a traceback's end, FFmpeg's complaint), without the path
    # of the work folder: logs never name stored files.
    tail = bytes(err[-1000:]).decode("utf-8", "replace").replace(str(workdir), "<workdir>")
    logger.warning(
        "media child %s: returncode=%s reason=%s stderr=%r",
        how,
        process.returncode,
        _reason(process.returncode),
        tail,
    )
