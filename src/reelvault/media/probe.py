"""What a video file is: container, codec, duration, display size, and whether it plays at all.

FFmpeg opens far more than videos: a PNG or JPEG becomes a one-frame "video" (png_pipe,
jpeg_pipe, image2), a GIF an animation, and even a plain text file decodes as ANSI art (the tty
demuxer). Naming the bad formats would be whack-a-mole, so only the containers that hold real
videos are accepted (`VIDEO_CONTAINERS`); GIF and animated PNG/WebP count as images, not videos.
A file passes only when one of its video frames actually decodes.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import av
from av.container import InputContainer
from av.stream import Disposition
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from reelvault.media.atoms import is_truncated, moov_at_front, read_movie, top_level_atoms
from reelvault.media.errors import NotAVideoError
from reelvault.media.limits import (
    MediaLimits,
    StreamFacts,
    check_dimensions,
    check_movie,
    check_streams,
)

MP4_FORMAT = "mov,mp4,m4a,3gp,3g2,mj2"  # FFmpeg's one demuxer for MP4 and QuickTime MOV

# FFmpeg demuxer names of the containers that hold videos.
VIDEO_CONTAINERS = frozenset(
    {MP4_FORMAT, "matroska,webm", "avi", "flv", "mpegts", "mpeg", "ogg", "asf"}
)
# Demuxers of still or animated images; they only choose the error message.
_IMAGE_CONTAINERS = frozenset({"image2", "gif", "apng", "webp", "ico", "jpegxl_anim"})

# A stream that opens with non-key frames may need a few packets before a frame comes out;
# one that yields nothing after this many is not going to.
_MAX_PACKETS_BEFORE_FRAME = 600


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """The facts about a playable video that the library stores and shows."""

    container_format: str  # FFmpeg's demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    video_codec: str  # e.g. "h264", "hevc", "vp9", "av1"
    duration_seconds: float
    width: int  # display size: sample aspect ratio and rotation applied
    height: int
    has_audio: bool
    moov_at_front: bool | None  # None for containers other than MP4/MOV

    @property
    def is_mp4(self) -> bool:
        """MP4 or QuickTime MOV: what `video/mp4` can serve and `remux_faststart` can rewrite."""
        return self.container_format == MP4_FORMAT


def probe(path: str | os.PathLike[str], *, limits: MediaLimits | None = None) -> VideoInfo:
    """Read a video's facts, decoding its first frame to prove it plays.

    Raises `NotAVideoError` for anything else: text, images, audio, empty, truncated or
    undecodable files. A missing file raises `FileNotFoundError` (that is not the file's fault).
    With `limits` (an untrusted file), an MP4/MOV's sample tables are checked before FFmpeg
    opens it, and every file's streams and duration before a frame is decoded.
    """
    movie = read_movie(path) if limits is not None else None
    if limits is not None and movie is not None:
        check_movie(movie, limits)
    with open_video(path) as (container, stream):
        if container.format.name == MP4_FORMAT:
            _reject_truncated_mp4(path)
        duration = media_duration(container, stream)
        if limits is not None:
            if container.format.name == MP4_FORMAT and movie is None:
                # FFmpeg took it for an MP4 that our reader cannot walk: its tables went unchecked.
                raise NotAVideoError("The file is not a valid MP4 video.", reason="malformed_mp4")
            check_streams(stream_facts(container), duration, limits)
        frame = first_frame(container, stream)
        width, height = display_size(frame, stream)
        if limits is not None:
            check_dimensions(width, height, limits)
        return VideoInfo(
            container_format=container.format.name,
            # The codec's own name: the decoder's may be a library's (libdav1d for AV1).
            video_codec=stream.codec_context.codec.canonical_name,
            duration_seconds=duration,
            width=width,
            height=height,
            has_audio=any(s.type == "audio" for s in container.streams),
            moov_at_front=moov_at_front(path) if container.format.name == MP4_FORMAT else None,
        )


@contextmanager
def open_video(path: str | os.PathLike[str]) -> Iterator[tuple[InputContainer, VideoStream]]:
    """Open a file as a video and pick its main video stream.

    Any FFmpeg error, while opening or while the caller reads, becomes `NotAVideoError`:
    its messages name the file's path and are not meant for people.
    """
    if Path(path).stat().st_size == 0:
        raise NotAVideoError("The file is empty.", reason="empty")
    try:
        container = av.open(os.fspath(path), metadata_errors="replace")
    except av.FFmpegError as exc:
        raise _unreadable(path) from exc
    try:
        with container:
            _check_container(container.format.name)
            yield container, _video_stream(container)
    except av.FFmpegError as exc:
        raise NotAVideoError(
            "The video is damaged and could not be read.", reason="undecodable"
        ) from exc


def _unreadable(path: str | os.PathLike[str]) -> NotAVideoError:
    with open(path, "rb") as file:
        head = file.read(12)
    if head[4:8] == b"ftyp":  # an MP4 whose index FFmpeg could not find: cut short or damaged
        return NotAVideoError("The MP4 file is incomplete or damaged.", reason="truncated")
    return NotAVideoError("The file is not a video.", reason="unknown_format")


def _check_container(format_name: str) -> None:
    if format_name in VIDEO_CONTAINERS:
        return
    # image2, image2pipe, png_pipe, jpeg_pipe, webp_pipe, ...: stills, with a nicer message.
    if _is_image_format(format_name):
        raise NotAVideoError("The file is an image, not a video.", reason="image")
    raise NotAVideoError("The file is not a video.", reason="unsupported_format")


def _is_image_format(name: str) -> bool:
    return name in _IMAGE_CONTAINERS or name.startswith("image") or name.endswith("_pipe")


def _video_stream(container: InputContainer) -> VideoStream:
    for stream in container.streams.video:
        # Cover art of an audio file is a one-picture "video" stream.
        if not stream.disposition & Disposition.attached_pic:
            return stream
    raise NotAVideoError("The file has no video track.", reason="no_video_stream")


def _reject_truncated_mp4(path: str | os.PathLike[str]) -> None:
    # FFmpeg opens an MP4 cut short after its index and decodes the first frames happily;
    # only the atom sizes tell that the media data is missing.
    if is_truncated(top_level_atoms(path), Path(path).stat().st_size):
        raise NotAVideoError("The MP4 file is incomplete (cut short).", reason="truncated")


def stream_facts(container: InputContainer) -> list[StreamFacts]:
    """What FFmpeg found in each stream on opening, for `limits.check_streams`."""
    facts = []
    for stream in container.streams:
        context = stream.codec_context
        codec = context.codec.canonical_name if context is not None and context.codec else ""
        video = stream.type == "video"
        facts.append(
            StreamFacts(
                kind=stream.type,
                codec=codec,
                width=context.width if video else 0,
                height=context.height if video else 0,
                attached_picture=bool(stream.disposition & Disposition.attached_pic),
            )
        )
    return facts


def media_duration(container: InputContainer, stream: VideoStream) -> float:
    """The duration in seconds, as players show it; `NotAVideoError` where unknown or zero."""
    seconds = 0.0
    if container.duration is not None:
        seconds = container.duration / av.time_base
    elif stream.duration is not None and stream.time_base is not None:
        seconds = float(stream.duration * stream.time_base)
    if not math.isfinite(seconds) or seconds <= 0:
        raise NotAVideoError("The video has no duration.", reason="no_duration")
    return seconds


def first_frame(container: InputContainer, stream: VideoStream) -> VideoFrame:
    """The first decodable frame of the stream; `NotAVideoError` where there is none."""
    for count, packet in enumerate(container.demux(stream)):
        # The demuxer's last, empty packet flushes the decoder's buffered frames.
        for frame in packet.decode():
            return frame  # type: ignore[return-value]
        if count >= _MAX_PACKETS_BEFORE_FRAME:
            break
    raise NotAVideoError("The video track could not be decoded.", reason="undecodable")


def quarter_turns(frame: VideoFrame) -> int:
    """How many quarter turns counter-clockwise the display matrix rotates the picture (0-3)."""
    return round(frame.rotation / 90) % 4


def display_size(frame: VideoFrame, stream: VideoStream) -> tuple[int, int]:
    """The size a player shows: non-square pixels stretched, rotation applied."""
    width, height = frame.width, frame.height
    sar = stream.sample_aspect_ratio
    if sar is not None and sar > 0 and sar != 1:
        width = max(1, round(width * sar))
    if quarter_turns(frame) % 2:
        width, height = height, width
    return width, height
