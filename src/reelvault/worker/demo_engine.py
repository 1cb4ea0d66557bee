"""The bundled `demo` engine: a real H.264 clip of the requested size and length, with the
prompt written on it, rendered with PyAV (reelvault.demo.clips) at a pace a person can watch.

Sizes are the demo library's: 9:16 is 360x640, 16:9 640x360, 1:1 480x480. Frames are paced
so a clip takes about `REELVAULT_DEMO_PACE` seconds of wall time per second of video (default
0.5: a 15 s clip is made in about 8 s; `0` renders as fast as the machine can), and progress
is reported honestly: the share of frames encoded so far.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from reelvault.demo.clips import render_clip
from reelvault.worker.engine import CannotGenerate, Job
from reelvault.worker.font import caption

SIZES = {"9:16": (360, 640), "16:9": (640, 360), "1:1": (480, 480)}
FPS = 24
PACE_ENV = "REELVAULT_DEMO_PACE"
DEFAULT_PACE = 0.5
MAX_PACE = 10.0
COST_PER_SECOND = 0.12  # make-believe USD, so the cards show a cost


def pace_from_env(environ: dict[str, str] | None = None) -> float:
    raw = (os.environ if environ is None else environ).get(PACE_ENV, "").strip()
    if not raw:
        return DEFAULT_PACE
    try:
        pace = float(raw)
    except ValueError:
        raise ValueError(f"{PACE_ENV} must be a number of seconds, not {raw!r}") from None
    if not 0 <= pace <= MAX_PACE:
        raise ValueError(f"{PACE_ENV} must be from 0 to {MAX_PACE:g}, not {raw!r}")
    return pace


def generate(job: Job) -> Path:
    size = SIZES.get(job.aspect_ratio or "9:16")
    if size is None:
        raise CannotGenerate(f"The demo engine makes 9:16, 16:9 or 1:1, not {job.aspect_ratio}.")
    if not 1 <= job.duration <= 60:
        raise CannotGenerate("The demo engine makes clips of 1 to 60 seconds.")
    width, height = size
    pace = pace_from_env()
    text = caption(job.prompt, width, height)
    target = job.workdir / "clip.mp4"
    started = time.monotonic()
    wall = pace * job.duration

    def overlay(planes: list[bytearray], line_sizes: list[int], index: int) -> None:
        if text is None:
            return
        text.draw(planes[0], line_sizes[0])
        # Neutral chroma under the box: white letters on black, whatever the scene's colour.
        neutral = b"\x80" * (text.width // 2)
        for plane, line_size in zip(planes[1:], line_sizes[1:], strict=True):
            for row in range(text.y // 2, (text.y + text.height) // 2):
                start = row * line_size + text.x // 2
                plane[start : start + len(neutral)] = neutral

    def on_frame(done: int, total: int) -> None:
        # 99 at most until the file is closed: 100 only once the clip is whole.
        job.report(min(99, 100 * done // total))
        ahead = started + wall * done / total - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)

    render_clip(
        target,
        width=width,
        height=height,
        seconds=job.duration,
        fps=FPS,
        seed=int.from_bytes(hashlib.sha256(job.prompt.encode()).digest()[:4], "big"),
        overlay=overlay,
        on_frame=on_frame,
    )
    job.report(100)
    job.cost = round(COST_PER_SECOND * job.duration, 2)
    return target
