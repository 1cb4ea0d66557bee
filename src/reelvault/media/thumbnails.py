"""A JPEG still of a video, taken a little way in (the first frame is often black or a fade-in).

Pillow is not a dependency: the frame is scaled with swscale, turned with FFmpeg's transpose
filter where the video carries a rotation, and encoded with FFmpeg's MJPEG encoder.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from fractions import Fraction
from pathlib import Path

import av
from av.container import InputContainer
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from reelvault.media.errors import MediaError, NotAVideoError
from reelvault.media.probe import display_size, media_duration, open_video, quarter_turns

# MJPEG's fixed quantiser (2 is best, 31 worst): 3 is what `ffmpeg -q:v 3` gives, a sharp
# thumbnail at about 30 KB for 640x1138.
_JPEG_QUALITY = 3
# FFmpeg's timestamps are int64: a target past that cannot be asked for.
_MAX_TIMESTAMP = 2**63 - 1
# What the transpose filter must do to show a picture the display matrix turns by
# 1, 2 or 3 quarter turns counter-clockwise.
_TURNS: dict[int, list[tuple[str, str | None]]] = {
    1: [("transpose", "cclock")],
    2: [("hflip", None), ("vflip", None)],
    3: [("transpose", "clock")],
}


def write_thumbnail(
    video_path: str | os.PathLike[str],
    jpeg_path: str | os.PathLike[str],
    *,
    at_fraction: float = 0.1,
    max_width: int = 640,
) -> None:
    """Write a JPEG of the frame at `at_fraction` of the video's duration.

    The thumbnail has the video's display aspect ratio (never cropped or stretched) and is at
    most `max_width` pixels wide; smaller videos are not enlarged. It replaces `jpeg_path`
    atomically. Raises `NotAVideoError` where the video cannot be read, `MediaError` where
    its frame cannot be turned into a JPEG.
    """
    if not 0 <= at_fraction <= 1:
        raise ValueError(f"at_fraction must be within 0..1, not {at_fraction}")
    if max_width < 1:
        raise ValueError(f"max_width must be positive, not {max_width}")
    with open_video(video_path) as (container, stream):
        frame = _frame_at(container, stream, at_fraction)
        width, height = _thumbnail_size(display_size(frame, stream), max_width)
        turns = quarter_turns(frame)
    try:
        jpeg = _encode_jpeg(_upright(_scaled(frame, width, height, turns), turns))
    except av.FFmpegError as exc:
        raise MediaError("The thumbnail could not be made.", reason="thumbnail") from exc
    _write_atomically(Path(jpeg_path), jpeg)


def _frame_at(container: InputContainer, stream: VideoStream, fraction: float) -> VideoFrame:
    """The first frame shown at or after `fraction` of the duration, or the last one before."""
    time_base = stream.time_base or Fraction(1, av.time_base)
    # The video track's own length where it has one: the file's is the longest track's, which
    # in the track's ticks can lie past 2^63 (an OverflowError in seek) or past its last frame.
    own = float(stream.duration * time_base) if stream.duration else 0.0
    duration = own if own > 0 else media_duration(container, stream)
    start = stream.start_time or 0
    # Aim inside the clip: one frame's worth before the end, so a fraction of 1 still finds one.
    frame_seconds = 1 / float(stream.average_rate or 25)
    target = start + int(max(0.0, min(duration * fraction, duration - frame_seconds)) / time_base)
    if start < target <= _MAX_TIMESTAMP:
        _seek(container, stream, target)
    last: VideoFrame | None = None
    for frame in container.decode(stream):
        # A frame without a timestamp cannot be placed; the one after the seek will do.
        if frame.pts is None or frame.pts >= target:
            return frame
        last = frame
    if last is None:
        raise NotAVideoError("The video track could not be decoded.", reason="undecodable")
    return last


def _seek(container: InputContainer, stream: VideoStream, target: int) -> None:
    # Lands on the keyframe at or before the target; decoding runs forward from there.
    # Where the file cannot seek (no index), decoding from the start still gets there.
    with contextlib.suppress(av.FFmpegError):
        container.seek(target, stream=stream, backward=True)


def _thumbnail_size(display: tuple[int, int], max_width: int) -> tuple[int, int]:
    width, height = display
    if width <= max_width:
        return width, height
    return max_width, max(1, round(height * max_width / width))


def _scaled(frame: VideoFrame, width: int, height: int, turns: int) -> VideoFrame:
    # Scale in the stored orientation: a picture shown turned by a quarter is stored
    # with its sides swapped. yuvj420p is full-range YUV, what JPEG holds.
    if turns % 2:
        width, height = height, width
    return frame.reformat(width, height, format="yuvj420p", interpolation="AREA")


def _upright(frame: VideoFrame, turns: int) -> VideoFrame:
    if not turns:
        return frame
    graph = av.filter.Graph()
    source = graph.add_buffer(
        width=frame.width, height=frame.height, format=frame.format, time_base=Fraction(1, 1)
    )
    filters = [graph.add(name, argument) for name, argument in _TURNS[turns]]
    graph.link_nodes(source, *filters, graph.add("buffersink")).configure()
    frame.pts, frame.time_base = 0, Fraction(1, 1)
    graph.push(frame)
    return graph.pull()  # type: ignore[return-value]


def _encode_jpeg(frame: VideoFrame) -> bytes:
    encoder = av.CodecContext.create("mjpeg", "w")
    encoder.width, encoder.height = frame.width, frame.height
    encoder.pix_fmt = "yuvj420p"
    encoder.time_base = Fraction(1, 1)
    # A fixed quantiser: with the default bit-rate control one still would be starved.
    encoder.qscale = True
    encoder.options = {"qmin": str(_JPEG_QUALITY), "qmax": str(_JPEG_QUALITY)}
    frame.pts = 0
    packets = [*encoder.encode(frame), *encoder.encode(None)]
    return b"".join(bytes(packet) for packet in packets)


def _write_atomically(target: Path, data: bytes) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
