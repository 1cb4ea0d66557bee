"""Hostile media, generated at run time from real clips (no binary files in the repository).

Each maker writes one file into `folder` and returns its path. The MP4 patches use their own
small box reader here, not the code under test: a bug there must not hide one in the corpus.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from tests.support.media import clip

# The sample count of the confirmed bomb: 85 million samples claimed by a 6.5 KB file.
BOMB_SAMPLES = 85_000_000
PNG_BOMB_SIDE = 16_000

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"moof", b"traf"}


@dataclass(frozen=True)
class Box:
    kind: bytes
    offset: int  # where the box starts (its size field)
    header: int  # 8, or 16 with a 64-bit size
    size: int

    @property
    def body(self) -> int:
        return self.offset + self.header


def boxes(data: bytes | bytearray, start: int = 0, end: int | None = None) -> Iterator[Box]:
    """The boxes between `start` and `end`, descending into the sample-table containers."""
    end = len(data) if end is None else end
    offset = start
    while offset + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, offset)
        header = 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, offset + 8)
            header = 16
        elif size == 0:
            size = end - offset
        if size < header:
            return
        box = Box(kind, offset, header, size)
        yield box
        if kind in _CONTAINERS:
            yield from boxes(data, box.body, min(end, offset + size))
        offset += size


def find(data: bytes | bytearray, kind: bytes) -> list[Box]:
    return [box for box in boxes(data) if box.kind == kind]


def sample_table_bomb(folder: Path, samples: int = BOMB_SAMPLES) -> Path:
    """(a) A tiny real MP4 whose stsz and stts claim `samples` samples in its video track:
    the first stts entry takes the whole count, stsz switches to one fixed size of 1 byte."""
    data = bytearray(clip(64, 64, 0.5).read_bytes())
    stsz = find(data, b"stsz")[0]
    struct.pack_into(">II", data, stsz.body + 4, 1, samples)  # sample_size, sample_count
    stts = find(data, b"stts")[0]
    struct.pack_into(">II", data, stts.body + 8, samples, 1)  # first entry: count, delta
    path = folder / "sample-bomb.mp4"
    path.write_bytes(bytes(data))
    return path


def png_of_zeros(width: int, height: int) -> bytes:
    """A 16-bit RGBA PNG of `width` x `height` black transparent pixels, never held in memory:
    one block of rows is deflated once with a full flush (so the segment stands alone) and the
    segment repeated; the Adler-32 of all-zero data is known in closed form."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload)
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    def segment(rows: int) -> bytes:
        deflate = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate, no zlib header
        return deflate.compress(bytes(row_bytes * rows)) + deflate.flush(zlib.Z_FULL_FLUSH)

    row_bytes = 1 + width * 8  # filter byte 0, then the pixels
    block_rows = max(1, (4 << 20) // row_bytes)
    blocks, rest = divmod(height, block_rows)
    stream = segment(block_rows) * blocks + (segment(rest) if rest else b"")
    final = zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)  # the last, empty block
    adler = ((row_bytes * height) % 65521) << 16 | 1  # A stays 1, B counts the bytes
    idat = b"\x78\xda" + stream + final + struct.pack(">I", adler)
    header = struct.pack(">IIBBBBB", width, height, 16, 6, 0, 0, 0)  # 16-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def single_png_frame(
    folder: Path, side: int = PNG_BOMB_SIDE, *, name: str = "png-bomb.mov", fmt: str = "mov"
) -> Path:
    """(b) A MOV (or another container) holding one `side` x `side` RGBA64 PNG frame, muxed as
    one packet: nothing decodes or allocates the frame here."""
    payload = png_of_zeros(side, side)
    path = folder / name
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream("png", rate=1)
        stream.width, stream.height, stream.pix_fmt = side, side, "rgba64be"
        stream.time_base = Fraction(1, 1)
        packet = av.Packet(payload)
        packet.pts = packet.dts = 0
        packet.duration = 1
        packet.time_base = Fraction(1, 1)
        packet.is_keyframe = True
        packet.stream = stream
        container.mux(packet)
    return path


def long_duration(folder: Path, seconds: int = 3_000_000_000) -> Path:
    """(c) A real clip whose headers and sample times claim about `seconds` (past 2^31 by
    default: an INTEGER column overflows on PostgreSQL). Every timescale becomes 1 (a tick is
    a second), so 32-bit version 0 headers hold the figure; the frames are spread over it."""
    data = bytearray(clip(64, 64, 0.5).read_bytes())
    for kind in (b"mvhd", b"mdhd"):
        for box in find(data, kind):
            _require_version_0(data, box)
            struct.pack_into(">II", data, box.body + 12, 1, seconds)  # timescale, duration
    for tkhd in find(data, b"tkhd"):
        _require_version_0(data, tkhd)
        struct.pack_into(">I", data, tkhd.body + 20, seconds)  # in the movie's timescale
    for stts in find(data, b"stts"):
        (entries,) = struct.unpack_from(">I", data, stts.body + 4)
        table = [struct.unpack_from(">II", data, stts.body + 8 + 8 * i) for i in range(entries)]
        delta = max(1, seconds // sum(count for count, _ in table))
        for index, (count, _) in enumerate(table):
            struct.pack_into(">II", data, stts.body + 8 + 8 * index, count, delta)
    for kind in (b"ctts", b"elst"):
        for box in find(data, kind):
            # Composition offsets and edit lists were in the old timescale: drop them.
            data[box.offset + 4 : box.offset + 8] = b"free"
    path = folder / "long.mp4"
    path.write_bytes(bytes(data))
    return path


def _require_version_0(data: bytearray, box: Box) -> None:
    if data[box.body] != 0:
        raise ValueError(f"{box.kind!r} is version {data[box.body]}; this patch needs version 0")


def many_streams(folder: Path, count: int = 40) -> Path:
    """(d) A real clip's video track copied into `count` tracks of one MP4."""
    source_path = clip(64, 64, 0.5)
    path = folder / f"{count}-streams.mp4"
    with av.open(str(source_path)) as source, av.open(str(path), "w", format="mp4") as target:
        video = source.streams.video[0]
        outputs = [target.add_stream_from_template(video, opaque=True) for _ in range(count)]
        for packet in source.demux(video):
            if packet.size == 0:
                continue
            for output in outputs:
                _mux_copy(target, packet, output)
    return path


def _mux_copy(container: av.container.OutputContainer, packet: av.Packet, stream: Any) -> None:
    copy = av.Packet(bytes(packet))
    copy.pts, copy.dts, copy.duration = packet.pts, packet.dts, packet.duration
    copy.time_base, copy.is_keyframe = packet.time_base, packet.is_keyframe
    copy.stream = stream
    container.mux(copy)


def foreign_codec(folder: Path, codec: str = "mjpeg", fmt: str = "matroska") -> Path:
    """(e) A small, perfectly playable video in a codec outside the allowlist (MJPEG in
    Matroska by default; `png` in `mov` is the PNG bomb's small sibling)."""
    suffix = {"matroska": "mkv", "mov": "mov", "avi": "avi", "mp4": "mp4"}[fmt]
    path = folder / f"{codec}.{suffix}"
    pix_fmt = {"mjpeg": "yuvj420p", "png": "rgb24", "ffv1": "yuv420p"}.get(codec, "yuv420p")
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, pix_fmt
        for index in range(10):
            frame = av.VideoFrame(64, 64, "rgb24").reformat(format=pix_fmt)
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def truncated_index(folder: Path) -> Path:
    """(f) A real clip cut short in the middle of its index (moov first, faststart)."""
    data = clip(64, 64, 0.5).read_bytes()
    moov = find(data, b"moov")[0]
    path = folder / "cut-in-moov.mp4"
    path.write_bytes(data[: moov.offset + moov.size // 2])
    return path


def garbage_boxes(folder: Path) -> Path:
    """(f) An `ftyp` header followed by boxes whose sizes point anywhere, then noise."""
    data = bytearray(clip(64, 64, 0.5).read_bytes())
    for stbl in find(data, b"stbl"):
        for box in boxes(data, stbl.body, stbl.offset + stbl.size):
            struct.pack_into(">I", data, box.offset, 0xFFFFFFF0)  # far past the end
    path = folder / "garbage-boxes.mp4"
    path.write_bytes(bytes(data))
    return path


def overflowing_seek(folder: Path) -> Path:
    """A two-track clip where a thumbnail's seek lands past 2^63 ticks: the first video track
    counts time in 1/2147483647 s, the second lasts 24 x (2^31 - 1) s (timescale 1, deltas as
    long as FFmpeg takes them, a 64-bit version 1 mdhd) and so sets the file's duration; a tenth
    of that in the first track's ticks is 1.1e19.
    """
    data = bytearray(_two_tracks(folder / "two-tracks.mp4").read_bytes())
    first, second = find(data, b"trak")[:2]
    struct.pack_into(">I", data, _inside(data, first, b"mdhd").body + 12, 2**31 - 1)
    for kind in (b"elst", b"ctts"):
        for box in [b for b in boxes(data, second.body, second.offset + second.size)]:
            if box.kind == kind:
                data[box.offset + 4 : box.offset + 8] = b"free"
    stts = _inside(data, second, b"stts")
    (entries,) = struct.unpack_from(">I", data, stts.body + 4)
    for index in range(entries):
        struct.pack_into(">I", data, stts.body + 12 + 8 * index, 2**31 - 1)  # each delta
    mdhd = _inside(data, second, b"mdhd")
    _require_version_0(data, mdhd)
    language = bytes(data[mdhd.body + 20 : mdhd.body + 24])
    body = struct.pack(">B3xQQIQ", 1, 0, 0, 1, 2**62) + language
    grown = struct.pack(">I4s", 8 + len(body), b"mdhd") + body
    extra = len(grown) - mdhd.size
    # Every box around the mdhd grows with it; moov is last, so no chunk offset moves.
    for box in boxes(data):
        if (
            box.kind in (b"moov", b"trak", b"mdia")
            and box.offset < mdhd.offset < box.offset + box.size
        ):
            struct.pack_into(">I", data, box.offset, box.size + extra)
    data[mdhd.offset : mdhd.offset + mdhd.size] = grown
    path = folder / "overflowing-seek.mp4"
    path.write_bytes(bytes(data))
    return path


def _inside(data: bytearray, parent: Box, kind: bytes) -> Box:
    return next(b for b in boxes(data, parent.body, parent.offset + parent.size) if b.kind == kind)


def _two_tracks(path: Path) -> Path:
    """A 1-second clip's 24 video packets in two tracks, moov at the end."""
    with av.open(str(clip(64, 64, 1.0))) as source, av.open(str(path), "w", format="mp4") as out:
        video = source.streams.video[0]
        tracks = [out.add_stream_from_template(video, opaque=True) for _ in range(2)]
        for packet in source.demux(video):
            if packet.size:
                for track in tracks:
                    _mux_copy(out, packet, track)
    return path
