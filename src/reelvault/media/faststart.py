"""Where an MP4's index (the `moov` atom) sits, and moving it to the front without re-encoding.

A browser can start playing an MP4 only once it has read `moov`. With `moov` after the media
data (`mdat`), as many encoders write it, the player must first fetch the file's end: one more
range request before the first frame, or a whole download where ranges are not used.
"""

from __future__ import annotations

import os
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import av
from av.container import InputContainer, OutputContainer
from av.stream import Stream

from reelvault.media.errors import MediaError, NotAVideoError

if TYPE_CHECKING:
    from reelvault.media.probe import VideoInfo

# A plain MP4 has a handful of top-level atoms, a fragmented one two per fragment (a day of
# 1-second fragments is under 200,000); more is garbage or hostile, at a read per atom.
_MAX_TOP_LEVEL_ATOMS = 200_000
_HEADER = struct.Struct(">I4s")
_LARGE_SIZE = struct.Struct(">Q")


@dataclass(frozen=True, slots=True)
class Atom:
    """One top-level ISO BMFF box: its four-character type, where it starts, how long it is."""

    kind: str
    offset: int
    size: int

    @property
    def end(self) -> int:
        return self.offset + self.size


def top_level_atoms(path: str | os.PathLike[str]) -> list[Atom]:
    """The top-level atoms of an MP4/MOV file, in file order.

    The last atom may end past the end of the file: that is how a truncated file looks, and
    `is_truncated` tells. Raises `NotAVideoError` where the bytes are not a box structure at all.
    """
    return list(_atoms(path))


def _atoms(path: str | os.PathLike[str]) -> Iterator[Atom]:
    with open(path, "rb") as file:
        yield from _walk(file, os.fstat(file.fileno()).st_size)


def _walk(file: BinaryIO, file_size: int) -> Iterator[Atom]:
    offset = 0
    for _ in range(_MAX_TOP_LEVEL_ATOMS):
        if offset >= file_size:
            return
        atom = _read_atom(file, offset, file_size)
        if atom is None:
            return
        yield atom
        if atom.end >= file_size:
            return
        offset = atom.end
    raise NotAVideoError("The file is not a valid MP4 video.", reason="malformed_mp4")


def _read_atom(file: BinaryIO, offset: int, file_size: int) -> Atom | None:
    file.seek(offset)
    header = file.read(_HEADER.size)
    if header == bytes(_HEADER.size):
        return None  # zero padding after the last atom, as some writers leave: players ignore it
    if len(header) < _HEADER.size:
        # A few stray bytes after the last atom: report them as an atom cut short.
        return Atom(kind="", offset=offset, size=file_size - offset + 1)
    size, raw_kind = _HEADER.unpack(header)
    kind = raw_kind.decode("latin-1")
    header_size = _HEADER.size
    if size == 1:  # 64-bit size follows the type
        large = file.read(_LARGE_SIZE.size)
        if len(large) < _LARGE_SIZE.size:
            return Atom(kind=kind, offset=offset, size=file_size - offset + 1)
        (size,) = _LARGE_SIZE.unpack(large)
        header_size += _LARGE_SIZE.size
    elif size == 0:  # the atom runs to the end of the file
        size = file_size - offset
    if size < header_size or not _is_fourcc(raw_kind):
        raise NotAVideoError("The file is not a valid MP4 video.", reason="malformed_mp4")
    return Atom(kind=kind, offset=offset, size=size)


def _is_fourcc(raw: bytes) -> bool:
    # Box types are printable ASCII (a few, like Apple's "©xyz", use 0xA9 in the first byte).
    return all(0x20 <= b < 0x7F or b == 0xA9 for b in raw)


def is_truncated(atoms: list[Atom], file_size: int) -> bool:
    """True where the last atom claims more bytes than the file holds (an upload cut short)."""
    return bool(atoms) and atoms[-1].end > file_size


def moov_at_front(path: str | os.PathLike[str]) -> bool:
    """True where the `moov` atom comes before the media data (`mdat`), as streaming wants.

    Raises `NotAVideoError` where the file has no `moov` atom (not an MP4, or cut short).
    """
    seen_mdat = False
    for atom in _atoms(path):
        if atom.kind == "moov":
            return not seen_mdat
        seen_mdat = seen_mdat or atom.kind == "mdat"
    raise NotAVideoError(
        "The file has no MP4 index (moov); it is not an MP4 video or it is incomplete.",
        reason="no_moov",
    )


def remux_faststart(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
    """Write `src` to `dst` as an MP4 with `moov` first, copying the packets (no re-encoding).

    Keeps every video and audio stream (cover art, subtitles and data tracks are dropped).
    The result is verified (it probes, decodes, and has `moov` first) before it replaces
    `dst` atomically; `src` and `dst` may be the same path.
    Raises `NotAVideoError` where `src` is not a video, `MediaError` where its streams cannot
    be stored in an MP4 without re-encoding.
    """
    # Imported here: probe uses this module's atom walk, and this function uses probe.
    from reelvault.media.probe import probe

    source_info = probe(src)
    target = Path(dst)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        _remux(src, tmp_name)
        result = probe(tmp_name)
        if not result.moov_at_front or not _same_video(source_info, result):
            raise MediaError("The video could not be rewritten for streaming.", reason="remux")
        _fsync(tmp_name)
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _remux(src: str | os.PathLike[str], dst: str) -> None:
    try:
        with (
            av.open(str(src), metadata_errors="replace") as source,
            av.open(dst, "w", format="mp4", options={"movflags": "faststart"}) as target,
        ):
            _copy_packets(source, target)
    except av.FFmpegError as exc:
        raise MediaError("The video could not be rewritten for streaming.", reason="remux") from exc


def _copy_packets(source: InputContainer, target: OutputContainer) -> None:
    inputs = [s for s in source.streams if _is_copied(s)]
    outputs: dict[int, Stream] = {}
    for stream in inputs:
        try:
            # opaque: keep the decoder's codec; an encoder of that name may not exist
            # (AV1 is decoded by libdav1d, which encodes nothing).
            outputs[stream.index] = target.add_stream_from_template(stream, opaque=True)
        except ValueError as exc:  # the MP4 muxer does not take this codec
            raise MediaError(
                "The video's codecs cannot be stored in an MP4 without re-encoding.",
                reason="unsupported_codec",
            ) from exc
    for packet in source.demux(inputs):
        if packet.size == 0:  # the demuxer's end-of-stream marker, not data
            continue
        # The packet keeps its timestamps and time base; mux rescales them to the output stream.
        packet.stream = outputs[packet.stream_index]
        target.mux(packet)


def _is_copied(stream: Stream) -> bool:
    if stream.type == "audio":
        return True
    return stream.type == "video" and not stream.disposition & av.stream.Disposition.attached_pic


def _same_video(before: VideoInfo, after: VideoInfo) -> bool:
    def facts(info: VideoInfo) -> tuple[str, int, int, bool]:
        return info.video_codec, info.width, info.height, info.has_audio

    # Durations may differ by an audio priming frame or edit-list rounding, never by more.
    close = abs(before.duration_seconds - after.duration_seconds) < 0.1
    return close and facts(before) == facts(after)


def _fsync(path: str) -> None:
    with open(path, "rb+") as file:
        os.fsync(file.fileno())
