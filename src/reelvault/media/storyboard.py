"""A storyboard for seek previews: small frames taken through a video at a steady interval,
laid out in one JPEG sprite, and the WebVTT whose cues name each frame's tile in it.

Frames are decoded in one pass over the file, and only from the keyframe before each wanted
frame on: packets between wanted frames are held back undecoded (up to a bound) and dropped
when a later keyframe makes them unnecessary, so a video with frequent keyframes costs one or
two decoded frames per tile, and one with rare keyframes no more than decoding it through.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from av.container import InputContainer
from av.packet import Packet
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from reelvault.media.errors import MediaError, NotAVideoError
from reelvault.media.probe import display_size, media_duration, open_video, quarter_turns
from reelvault.media.thumbnails import _encode_jpeg, _write_atomically

MAX_TILES = 100
TILE_WIDTH = 160
COLUMNS = 10
# A tile fits a box this many tile widths tall: a 9:16 video keeps its shape, one of 1:100
# gets narrower instead of a sprite thousands of pixels tall.
_TALLEST = 2
# Compressed packets held back undecoded while waiting for the next wanted frame: past this
# they are decoded (and dropped) instead, so memory does not grow with a long keyframe gap.
_MAX_HELD_BYTES = 32 * 1024**2
# Packets that fail to decode are skipped (a damaged frame costs a tile, not the storyboard);
# a video that keeps failing is given up.
_MAX_DECODE_ERRORS = 50
# The last cue may run a little past one interval rather than be a sliver of a few frames.
_SLIVER = 0.1
_TURNS: dict[int, list[tuple[str, str | None]]] = {
    1: [("transpose", "cclock")],
    2: [("hflip", None), ("vflip", None)],
    3: [("transpose", "clock")],
}


@dataclass(frozen=True, slots=True)
class StoryboardLayout:
    """Where each tile sits in the sprite, and which stretch of the video it stands for."""

    interval: float  # seconds from one tile to the next
    tile_width: int
    tile_height: int
    columns: int
    count: int
    duration: float  # seconds: the last tile's cue ends here

    @property
    def rows(self) -> int:
        return math.ceil(self.count / self.columns)

    @property
    def sprite_size(self) -> tuple[int, int]:
        return self.columns * self.tile_width, self.rows * self.tile_height

    def tile(self, index: int) -> tuple[int, int, int, int]:
        """x, y, width, height of tile `index` in the sprite."""
        row, column = divmod(index, self.columns)
        return column * self.tile_width, row * self.tile_height, self.tile_width, self.tile_height

    def span(self, index: int) -> tuple[float, float]:
        """The seconds tile `index` stands for: from its frame to the next tile's."""
        start = index * self.interval
        end = self.duration if index == self.count - 1 else (index + 1) * self.interval
        return start, end


def tile_times(duration: float, max_tiles: int = MAX_TILES) -> tuple[float, int]:
    """The interval (whole seconds: one tile a second, more for long videos, so that no more
    than `max_tiles` are needed) and how many tiles cover `duration`."""
    if not math.isfinite(duration) or duration <= 0:
        raise ValueError(f"duration must be positive, not {duration}")
    if max_tiles < 1:
        raise ValueError(f"max_tiles must be positive, not {max_tiles}")
    interval = max(1, math.ceil(duration / max_tiles))
    count = max(1, math.ceil(duration / interval - _SLIVER))
    return float(interval), min(count, max_tiles)


def tile_size(display: tuple[int, int], tile_width: int = TILE_WIDTH) -> tuple[int, int]:
    """A tile of the video's display aspect ratio, `tile_width` wide (never wider than the
    video, nor taller than `_TALLEST` tile widths), with even sides (4:2:0 JPEG)."""
    width, height = display
    if width < 1 or height < 1:
        raise ValueError(f"display size must be positive, not {display}")
    wide = min(tile_width, width)
    tall = wide * height / width
    if tall > _TALLEST * tile_width:
        tall = _TALLEST * tile_width
        wide = tall * width / height
    return _even(wide), _even(tall)


def plan_layout(
    duration: float,
    display: tuple[int, int],
    *,
    max_tiles: int = MAX_TILES,
    tile_width: int = TILE_WIDTH,
    columns: int = COLUMNS,
) -> StoryboardLayout:
    interval, count = tile_times(duration, max_tiles)
    width, height = tile_size(display, tile_width)
    return StoryboardLayout(
        interval=interval,
        tile_width=width,
        tile_height=height,
        columns=max(1, min(columns, count)),
        count=count,
        duration=duration,
    )


def _even(value: float) -> int:
    return max(2, 2 * round(value / 2))


def webvtt(layout: StoryboardLayout, sprite_url: str) -> str:
    """The WebVTT of a storyboard: one cue per tile, covering the video from 0 to its end,
    whose text is `sprite_url#xywh=x,y,w,h` (the media fragment of the tile)."""
    lines = ["WEBVTT", ""]
    previous_end = 0
    for index in range(layout.count):
        _, end = layout.span(index)
        # Whole milliseconds, each cue starting where the last one ended.
        start_ms = previous_end
        end_ms = max(round(end * 1000), start_ms + 1)
        x, y, w, h = layout.tile(index)
        lines += [
            f"{vtt_time(start_ms)} --> {vtt_time(end_ms)}",
            f"{sprite_url}#xywh={x},{y},{w},{h}",
            "",
        ]
        previous_end = end_ms
    return "\n".join(lines)


def vtt_time(milliseconds: int) -> str:
    hours, rest = divmod(milliseconds, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def write_storyboard(
    video_path: str | os.PathLike[str],
    sprite_path: str | os.PathLike[str],
    *,
    max_tiles: int = MAX_TILES,
    tile_width: int = TILE_WIDTH,
    columns: int = COLUMNS,
) -> StoryboardLayout:
    """Write the storyboard sprite of a video as a JPEG (atomically) and return its layout.

    Raises `NotAVideoError` where the video cannot be read, `MediaError` where its frames
    cannot be turned into a sprite."""
    with open_video(video_path) as (container, stream):
        duration = _track_duration(container, stream)
        interval, count = tile_times(duration, max_tiles)
        start = stream.start_time or 0
        time_base = stream.time_base or Fraction(1, av.time_base)
        targets = [start + int(index * interval / time_base) for index in range(count)]
        sprite: _Sprite | None = None
        for frame in frames_at(container, stream, targets):
            if sprite is None:
                layout = plan_layout(
                    duration,
                    display_size(frame, stream),
                    max_tiles=max_tiles,
                    tile_width=tile_width,
                    columns=columns,
                )
                sprite = _Sprite(layout, quarter_turns(frame))
            sprite.add(frame)
    if sprite is None:
        raise NotAVideoError("The video track could not be decoded.", reason="undecodable")
    try:
        jpeg = _encode_jpeg(sprite.finish())
    except av.FFmpegError as exc:
        raise MediaError("The storyboard could not be made.", reason="storyboard") from exc
    _write_atomically(Path(sprite_path), jpeg)
    return sprite.layout


def _track_duration(container: InputContainer, stream: VideoStream) -> float:
    # The video track's own length where it has one (as the thumbnail takes it): the file's
    # is the longest track's, and past the last frame there is nothing to show.
    time_base = stream.time_base or Fraction(1, av.time_base)
    own = float(stream.duration * time_base) if stream.duration else 0.0
    return own if own > 0 else media_duration(container, stream)


def frames_at(
    container: InputContainer, stream: VideoStream, targets: list[int]
) -> Iterator[VideoFrame]:
    """For each target timestamp (ascending, in the stream's time base): the first frame shown
    at or after it, or the last one before it where the video ends first. Exactly one frame per
    target. Packets are decoded only from the last keyframe before each target."""
    decoder = stream.codec_context
    held: list[Packet] = []
    held_bytes = 0
    fresh_start = False  # packets were dropped: the decoder must forget what it holds
    errors = 0
    last: VideoFrame | None = None
    wanted = iter(targets)
    target = next(wanted, None)

    def decode(packet: Packet | None) -> list[VideoFrame]:
        nonlocal errors
        try:
            return decoder.decode(packet)  # type: ignore[return-value]
        except av.error.InvalidDataError:
            errors += 1
            if errors > _MAX_DECODE_ERRORS:
                raise
            return []

    def feed(packets: list[Packet | None]) -> Iterator[VideoFrame]:
        """Decode `packets`; yield the frames that meet targets, advancing `target`."""
        nonlocal last, target
        for packet in packets:
            for frame in decode(packet):
                while target is not None and (frame.pts is None or frame.pts >= target):
                    # A frame past two targets (a gap in the video) stands for both.
                    yield frame
                    target = next(wanted, None)
                last = frame

    chasing = False  # a packet at or past the target was decoded; its frame is still due
    for packet in container.demux(stream):
        if target is None:
            break
        if packet.size == 0:  # the demuxer's flush packet; handled after the loop
            continue
        if packet.is_keyframe and not chasing:
            # Decoding may start here: what was held back is no longer needed.
            fresh_start = fresh_start or bool(held)
            held.clear()
            held_bytes = 0
        held.append(packet)
        held_bytes += packet.size
        chasing = chasing or packet.pts is None or packet.pts >= target
        if not chasing and held_bytes <= _MAX_HELD_BYTES:
            continue
        if fresh_start:
            decoder.flush_buffers()
            fresh_start = False
        batch, held, held_bytes = held, [], 0
        before = target
        yield from feed(batch)
        # Reordered codecs give a frame out a few packets after its own: decode on until
        # the target's frame has come.
        chasing = chasing and target == before
    if target is None:
        return
    if fresh_start:
        decoder.flush_buffers()
    yield from feed([*held, None])
    # The video ended before the remaining targets: its last frame stands for them.
    while target is not None and last is not None:
        yield last
        target = next(wanted, None)


class _Sprite:
    """Tiles pushed one by one through FFmpeg's tile filter, which lays them out in a grid
    (black where the last row is short): one sprite-sized picture held, whatever the count."""

    def __init__(self, layout: StoryboardLayout, turns: int) -> None:
        self.layout = layout
        self.turns = turns
        self.added = 0
        width, height = layout.tile_width, layout.tile_height
        # Scaled in the stored orientation, then turned: sides swapped for a quarter turn.
        self._stored = (height, width) if turns % 2 else (width, height)
        graph = av.filter.Graph()
        source = graph.add_buffer(
            width=self._stored[0],
            height=self._stored[1],
            format="yuvj420p",
            time_base=Fraction(1, 1),
        )
        turned = [graph.add(name, argument) for name, argument in _TURNS.get(turns, [])]
        tiles = graph.add("tile", f"layout={layout.columns}x{layout.rows}:nb_frames={layout.count}")
        graph.link_nodes(source, *turned, tiles, graph.add("buffersink")).configure()
        self._graph = graph

    def add(self, frame: VideoFrame) -> None:
        if self.added >= self.layout.count:
            return
        tile = frame.reformat(*self._stored, format="yuvj420p", interpolation="AREA")
        tile.pts, tile.time_base = self.added, Fraction(1, 1)
        self._graph.push(tile)
        self.added += 1

    def finish(self) -> VideoFrame:
        if self.added < self.layout.count:
            raise MediaError("The storyboard is missing frames.", reason="storyboard")
        self._graph.push(None)
        return self._graph.pull()  # type: ignore[return-value]
