"""Real, small H.264 MP4 clips for demos and tests, rendered in-process with PyAV.

Frames are built straight in YUV 4:2:0 from byte slices (no numpy, no Pillow): moving diagonal
stripes, a drifting colour wash and a few bouncing rectangles, all drawn from a seeded RNG so
the same arguments give the same pictures. The content moves, so the encoder produces real
P- and B-frames and a thumbnail taken at 10% differs from the first frame.
"""

from __future__ import annotations

import math
import os
import random
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from av.audio.stream import AudioStream
from av.container import OutputContainer
from av.packet import Packet
from av.video.stream import VideoStream

_MAX_SIDE = 8192
_AUDIO_RATE = 48_000
_AUDIO_FRAME = 1024  # AAC's frame size
_ROTATIONS = frozenset({0, 90, 180, 270, -90})

# Draws over a frame's planes (Y, U, V as bytearrays, with their line sizes) before it is
# encoded: the demo engine writes its prompt this way.
Overlay = Callable[[list[bytearray], list[int], int], None]
# Told (frames encoded, frames in all) after each frame: progress, pacing, or an exception to
# stop (the clip is then removed).
FrameCallback = Callable[[int, int], None]


def render_clip(
    path: str | os.PathLike[str],
    *,
    width: int,
    height: int,
    seconds: float,
    fps: int = 24,
    seed: int = 0,
    moov_at_end: bool = False,
    with_audio: bool = False,
    rotation: int = 0,
    overlay: Overlay | None = None,
    on_frame: FrameCallback | None = None,
) -> None:
    """Render an H.264 (yuv420p) MP4 of `width` x `height` pixels lasting `seconds`.

    `moov` is written first (faststart) unless `moov_at_end`, which leaves it after the media
    data as many encoders do. `with_audio` adds a mono AAC tone. `rotation` stores a display
    rotation (degrees counter-clockwise, as `VideoFrame.rotation` reports it); the pictures
    keep `width` x `height` and players show them turned. `overlay` draws on each frame;
    `on_frame` is called after each one is encoded (an exception it raises stops the render).
    """
    _validate(width, height, seconds, fps, rotation)
    frame_count = max(1, round(seconds * fps))
    target = Path(path)
    try:
        with av.open(
            os.fspath(target), "w", format="mp4", options=_mp4_options(moov_at_end)
        ) as container:
            video = _add_video(container, width, height, fps, rotation)
            audio = _add_audio(container) if with_audio else None
            scene = _Scene(width, height, seed, overlay)
            _write(container, video, audio, scene, frame_count, fps, on_frame)
    except BaseException:
        target.unlink(missing_ok=True)  # never leave half a clip behind
        raise


def _validate(width: int, height: int, seconds: float, fps: int, rotation: int) -> None:
    for name, side in (("width", width), ("height", height)):
        if not 2 <= side <= _MAX_SIDE or side % 2:
            # 4:2:0 chroma is subsampled by two in both directions.
            raise ValueError(f"{name} must be an even number from 2 to {_MAX_SIDE}, not {side}")
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"seconds must be positive, not {seconds}")
    if not 1 <= fps <= 240:
        raise ValueError(f"fps must be from 1 to 240, not {fps}")
    if rotation not in _ROTATIONS:
        raise ValueError(f"rotation must be one of {sorted(_ROTATIONS)}, not {rotation}")


def _mp4_options(moov_at_end: bool) -> dict[str, str]:
    return {} if moov_at_end else {"movflags": "faststart"}


def _h264_encoder() -> str:
    # libx264 where PyAV's FFmpeg has it (the wheels do); else whatever encodes H.264.
    return "libx264" if "libx264" in av.codecs_available else "h264"


def _add_video(
    container: OutputContainer, width: int, height: int, fps: int, rotation: int
) -> VideoStream:
    encoder = _h264_encoder()
    stream = container.add_stream(encoder, rate=fps)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.codec_context.gop_size = 2 * fps  # a keyframe every 2 s, as web video has
    if encoder == "libx264":
        # ultrafast for speed, with the B-frames and CABAC that real-world streams have:
        # B-frames make decode order differ from display order, which remuxing must keep.
        stream.options = {"preset": "ultrafast", "x264-params": "bframes=2:cabac=1"}
    if rotation:
        stream.set_display_rotation(rotation)
    return stream


def _add_audio(container: OutputContainer) -> AudioStream:
    return container.add_stream("aac", rate=_AUDIO_RATE, layout="mono")


def _write(
    container: OutputContainer,
    video: VideoStream,
    audio: AudioStream | None,
    scene: _Scene,
    frame_count: int,
    fps: int,
    on_frame: FrameCallback | None = None,
) -> None:
    tone = _Tone(scene.seed)
    for index in range(frame_count):
        _mux(container, video.encode(scene.frame(index)))
        if audio is not None:
            # Keep the audio abreast of the video so the muxer interleaves them finely.
            upto = round((index + 1) * _AUDIO_RATE / fps)
            for frame in tone.frames(upto, last=index == frame_count - 1):
                _mux(container, audio.encode(frame))
        if on_frame is not None:
            on_frame(index + 1, frame_count)
    _mux(container, video.encode(None))
    if audio is not None:
        _mux(container, audio.encode(None))


def _mux(container: OutputContainer, packets: Iterable[Packet]) -> None:
    for packet in packets:
        container.mux(packet)


def _triangle(period: int, low: int, high: int, length: int) -> bytes:
    """A triangle wave of `period` samples between `low` and `high`, `length` bytes long."""
    half = period / 2
    one = bytes(round(low + (high - low) * (1 - abs(i - half) / half)) for i in range(period))
    return (one * (length // period + 2))[:length]


def _bounce(start: float, velocity: float, t: int, span: int) -> int:
    """Where a point moving at `velocity` and reflecting off 0 and `span` is at time `t`."""
    if span <= 0:
        return 0
    p = (start + velocity * t) % (2 * span)
    return int(p if p <= span else 2 * span - p)


@dataclass(frozen=True, slots=True)
class _Shape:
    width: int
    height: int
    start: tuple[float, float]
    velocity: tuple[float, float]
    luma: bytes  # one byte, repeated to fill a row
    chroma: tuple[bytes, bytes]


class _Scene:
    """The seeded picture: stripes and a colour wash sliding diagonally, rectangles bouncing."""

    def __init__(self, width: int, height: int, seed: int, overlay: Overlay | None = None) -> None:
        rng = random.Random(seed)
        self.seed = seed
        self.overlay = overlay
        self.width, self.height = width, height
        probe = av.VideoFrame(width, height, "yuv420p")
        self.line_sizes = [plane.line_size for plane in probe.planes]
        short = min(width, height)
        self.period = max(16, int(short * rng.uniform(0.3, 0.8)))
        self.slope = rng.choice((1, 2, 3))
        self.speed = max(1, round(short / rng.uniform(120, 240)))
        self.luma_wave = _triangle(self.period, 40, 200, self.period + self.line_sizes[0])
        self.chroma_waves = tuple(
            _triangle(self.period, rng.randint(70, 110), rng.randint(140, 190), self.period + ls)
            for ls in self.line_sizes[1:]
        )
        self.shapes = [self._shape(rng, short) for _ in range(3)]

    def _shape(self, rng: random.Random, short: int) -> _Shape:
        w = max(2, int(short * rng.uniform(0.12, 0.3))) & ~1
        h = max(2, int(short * rng.uniform(0.12, 0.3))) & ~1
        speed = short / rng.uniform(80, 160)
        angle = rng.uniform(0, 2 * math.pi)
        return _Shape(
            width=min(w, self.width),
            height=min(h, self.height),
            start=(rng.uniform(0, self.width), rng.uniform(0, self.height)),
            velocity=(speed * math.cos(angle), speed * math.sin(angle)),
            luma=bytes([rng.choice((24, 120, 230))]),
            chroma=(bytes([rng.randint(16, 240)]), bytes([rng.randint(16, 240)])),
        )

    def frame(self, index: int) -> av.VideoFrame:
        frame = av.VideoFrame(self.width, self.height, "yuv420p")
        frame.pts = index
        shift = index * self.speed
        planes = [
            self._stripes(self.luma_wave, self.line_sizes[0], self.height, shift),
            *(
                self._stripes(wave, ls, self.height // 2, shift // 2)
                for wave, ls in zip(self.chroma_waves, self.line_sizes[1:], strict=True)
            ),
        ]
        for shape in self.shapes:
            self._draw(planes, shape, index)
        if self.overlay is not None:
            self.overlay(planes, self.line_sizes, index)
        for plane, data in zip(frame.planes, planes, strict=True):
            plane.update(data)
        return frame

    def _stripes(self, wave: bytes, line_size: int, rows: int, shift: int) -> bytearray:
        # Each row is a window on the same wave, offset by its row: diagonal stripes that
        # slide as `shift` grows. Slicing and joining keeps a 1080p frame at about a millisecond.
        period, slope = self.period, self.slope
        starts = ((row * slope + shift) % period for row in range(rows))
        return bytearray(b"".join(wave[s : s + line_size] for s in starts))

    def _draw(self, planes: list[bytearray], shape: _Shape, index: int) -> None:
        x = _bounce(shape.start[0], shape.velocity[0], index, self.width - shape.width) & ~1
        y = _bounce(shape.start[1], shape.velocity[1], index, self.height - shape.height) & ~1
        _fill(planes[0], self.line_sizes[0], x, y, shape.width, shape.height, shape.luma)
        for plane, ls, value in zip(planes[1:], self.line_sizes[1:], shape.chroma, strict=True):
            _fill(plane, ls, x // 2, y // 2, shape.width // 2, shape.height // 2, value)


def _fill(
    plane: bytearray, line_size: int, x: int, y: int, width: int, height: int, value: bytes
) -> None:
    row = value * width
    for r in range(y, y + height):
        start = r * line_size + x
        plane[start : start + width] = row


class _Tone:
    """A seeded sine tone, handed out as AAC-sized float frames."""

    def __init__(self, seed: int) -> None:
        # A whole number of hertz repeats exactly every second: compute one second, loop it.
        frequency = 220 + 55 * (seed % 8)
        second = array(
            "f",
            (0.2 * math.sin(2 * math.pi * frequency * i / _AUDIO_RATE) for i in range(_AUDIO_RATE)),
        )
        self.loop = (second * 2).tobytes()
        self.written = 0

    def frames(self, upto: int, *, last: bool) -> Iterable[av.AudioFrame]:
        """Frames up to sample `upto`; AAC takes a short frame only as the stream's last."""
        while upto - self.written >= _AUDIO_FRAME or (last and self.written < upto):
            yield self._frame(min(_AUDIO_FRAME, upto - self.written))

    def _frame(self, count: int) -> av.AudioFrame:
        start = (self.written % _AUDIO_RATE) * 4
        frame = av.AudioFrame(format="fltp", layout="mono", samples=count)
        frame.sample_rate = _AUDIO_RATE
        frame.time_base = Fraction(1, _AUDIO_RATE)
        frame.pts = self.written
        frame.planes[0].update(self.loop[start : start + count * 4])
        self.written += count
        return frame
