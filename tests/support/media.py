"""Real media files for tests, rendered with PyAV and cached per test session."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

from reelvault.demo.clips import render_clip

_CACHE = Path(tempfile.mkdtemp(prefix="reelvault-test-clips-"))


@functools.cache
def clip(
    width: int = 320,
    height: int = 180,
    seconds: float = 2.0,
    *,
    moov_at_end: bool = False,
    with_audio: bool = False,
) -> Path:
    name = f"{width}x{height}-{seconds}-{'end' if moov_at_end else 'front'}-{int(with_audio)}.mp4"
    path = _CACHE / name
    render_clip(
        path,
        width=width,
        height=height,
        seconds=seconds,
        moov_at_end=moov_at_end,
        with_audio=with_audio,
        seed=width + height,
    )
    return path


def media_files(root: Path) -> set[str]:
    """Every file under the media root, relative, excluding the work folders' lock files."""
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
