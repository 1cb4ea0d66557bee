"""Prepare one untrusted video in a process of its own, under memory and CPU limits:

    python -m reelvault.media.child <upload> <workdir> <limits as JSON>
    python -m reelvault.media.child --storyboard <video> <workdir> <limits as JSON>

The limits are set before FFmpeg is even loaded, so a decoder bomb or an FFmpeg crash costs
only this process. Everything it writes goes into `workdir`; its one answer is a JSON object
on the last line of stdout: the prepared video's facts (or the storyboard's layout), or the
sentence that refuses the file.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from dataclasses import asdict
from pathlib import Path

OUT_OF_MEMORY = "The video needs more memory to read than this service allows."
STORYBOARD = "--storyboard"
STORYBOARD_NAME = "storyboard.jpg"
# Storyboards are made in the background: imports and requests come first.
_STORYBOARD_NICENESS = 10


def main(argv: list[str]) -> int:
    if argv[0] == STORYBOARD:
        return storyboard(argv[1:])
    upload, workdir, raw_limits = argv
    limits = json.loads(raw_limits)
    confine(limits["memory_bytes"], limits["cpu_seconds"])
    # Only now: PyAV and FFmpeg's libraries load under the limits.
    from reelvault.media.errors import NotAVideoError
    from reelvault.media.ingest import prepare_video
    from reelvault.media.limits import MediaLimits

    try:
        prepared = prepare_video(Path(upload), Path(workdir), limits=MediaLimits(**limits))
    except NotAVideoError as exc:
        if _caused_by_memory(exc):
            return answer({"error": {"message": OUT_OF_MEMORY, "reason": "out_of_memory"}})
        return answer({"error": {"message": exc.message, "reason": exc.reason}})
    except MemoryError:
        return answer({"error": {"message": OUT_OF_MEMORY, "reason": "out_of_memory"}})
    return answer(
        {
            "video": prepared.video.name,
            "thumbnail": prepared.thumbnail.name,
            "info": asdict(prepared.info),
        }
    )


def storyboard(argv: list[str]) -> int:
    video, workdir, raw_limits = argv
    limits = json.loads(raw_limits)
    confine(limits["memory_bytes"], limits["cpu_seconds"])
    os.nice(_STORYBOARD_NICENESS)
    from reelvault.media.errors import MediaError
    from reelvault.media.limits import MediaLimits
    from reelvault.media.probe import probe
    from reelvault.media.storyboard import write_storyboard

    try:
        # A stored video passed these checks once; a file from before them had not.
        probe(Path(video), limits=MediaLimits(**limits))
        layout = write_storyboard(Path(video), Path(workdir) / STORYBOARD_NAME)
    except MediaError as exc:
        if _caused_by_memory(exc):
            return answer({"error": {"message": OUT_OF_MEMORY, "reason": "out_of_memory"}})
        return answer({"error": {"message": exc.message, "reason": exc.reason}})
    except MemoryError:
        return answer({"error": {"message": OUT_OF_MEMORY, "reason": "out_of_memory"}})
    return answer({"storyboard": STORYBOARD_NAME, "layout": asdict(layout)})


def confine(memory_bytes: int, cpu_seconds: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    # Past the soft limit the kernel sends SIGXCPU, at the hard one SIGKILL.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash must not dump a gigabyte


def _caused_by_memory(exc: BaseException) -> bool:
    # FFmpeg's ENOMEM arrives as av.error.MemoryError (a MemoryError), wrapped by open_video.
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, MemoryError):
            return True
        seen = seen.__cause__
    return False


def answer(payload: dict[str, object]) -> int:
    sys.stdout.write("\n" + json.dumps(payload) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
