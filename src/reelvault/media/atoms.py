"""The atom (box) structure of an MP4/MOV file, read without FFmpeg: where `moov` sits, whether
the file was cut short, and what its sample tables claim. Plain byte reads, bounded in count."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from reelvault.media.errors import NotAVideoError
from reelvault.media.limits import MovieFacts, TrackFacts

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


# --- the sample tables, as claimed -----------------------------------------------------------
# FFmpeg's mov demuxer allocates and fills one index entry per sample that the tables claim
# while it opens the file: 85 million claimed by a 6.5 KB file cost seconds and gigabytes.
# These readers take the claims without building anything, so `limits.check_movie` can refuse
# them before FFmpeg sees the file. Every read is bounded by the box that holds it.

_MAX_CHILDREN = 100_000  # boxes inside one box; a track has a dozen
_TABLE_PIECE = 48 * 1024  # tables are summed a piece at a time (whole 8- and 12-byte entries)
_VISUAL_ENTRY = struct.Struct(">24xHH")  # a visual sample entry's width and height
_DAMAGED = "The MP4 file's index is damaged or incomplete."


@dataclass(frozen=True, slots=True)
class _Box:
    kind: str
    start: int  # of the body, after the header
    end: int


def read_movie(path: str | os.PathLike[str]) -> MovieFacts | None:
    """What the movie boxes (`moov`, and `moof` fragments) of an MP4/MOV claim, or None where
    the file is not a box structure holding a movie (FFmpeg then decides what it is).

    Raises `NotAVideoError` where a box inside the movie is malformed, runs past its parent,
    or holds a table longer than itself (FFmpeg would read the following bytes as entries).
    """
    with open(path, "rb") as file:
        file_size = os.fstat(file.fileno()).st_size
        try:
            top = list(_walk(file, file_size))
        except NotAVideoError:
            return None
        if not any(atom.kind in ("moov", "moof") for atom in top):
            return None
        tracks: list[TrackFacts] = []
        fragments: dict[int, int] = {}
        for atom in top:
            if atom.kind not in ("moov", "moof"):
                continue
            box = _top_box(file, atom, file_size)
            if atom.kind == "moov":
                tracks.extend(_movie_tracks(file, box))
            elif atom.kind == "moof":
                _count_fragment(file, box, fragments)
        return MovieFacts(tuple(tracks), max(fragments.values(), default=0))


def _top_box(file: BinaryIO, atom: Atom, file_size: int) -> _Box:
    file.seek(atom.offset)
    (size,) = struct.unpack(">I", file.read(4))
    header = _HEADER.size + (_LARGE_SIZE.size if size == 1 else 0)
    return _Box(atom.kind, atom.offset + header, min(atom.end, file_size))


def _children(file: BinaryIO, parent: _Box, skip: int = 0) -> Iterator[_Box]:
    """The boxes inside `parent`, after `skip` bytes of its own fields."""
    offset = parent.start + skip
    for _ in range(_MAX_CHILDREN):
        if offset + _HEADER.size > parent.end:
            return  # a few bytes of padding at the end are tolerated, as players do
        file.seek(offset)
        size, raw_kind = _HEADER.unpack(file.read(_HEADER.size))
        header = _HEADER.size
        if size == 1:
            large = file.read(_LARGE_SIZE.size)
            if len(large) < _LARGE_SIZE.size:
                raise _damaged()
            (size,) = _LARGE_SIZE.unpack(large)
            header += _LARGE_SIZE.size
        elif size == 0:
            size = parent.end - offset
        if size < header or offset + size > parent.end or not _is_fourcc(raw_kind):
            raise _damaged()
        yield _Box(raw_kind.decode("latin-1"), offset + header, offset + size)
        offset += size
    raise _damaged()


def _damaged() -> NotAVideoError:
    return NotAVideoError(_DAMAGED, reason="malformed_mp4")


def _movie_tracks(file: BinaryIO, moov: _Box) -> Iterator[TrackFacts]:
    for box in _children(file, moov):
        if box.kind == "cmov":
            raise NotAVideoError(
                "The video's index is compressed (cmov), which is not accepted.",
                reason="compressed_index",
            )
        if box.kind == "trak":
            yield _track(file, box)


def _track(file: BinaryIO, trak: _Box) -> TrackFacts:
    handler = ""
    tables: dict[str, _Box] = {}
    edits = 0
    for box in _children(file, trak):
        if box.kind == "mdia":
            for part in _children(file, box):
                if part.kind == "hdlr":
                    handler = _read(file, part, 8, 4).decode("latin-1")
                elif part.kind == "minf":
                    for stbl in (b for b in _children(file, part) if b.kind == "stbl"):
                        tables.update((t.kind, t) for t in _children(file, stbl))
        elif box.kind == "edts":
            for elst in (b for b in _children(file, box) if b.kind == "elst"):
                version = _read(file, elst, 0, 1)[0]
                edits += _entry_count(file, elst, 20 if version == 1 else 12)
    entries, width, height = _sample_entries(file, tables.get("stsd"), handler)
    samples, fixed_size = _sample_count(file, tables)
    stts = _summed_counts(file, tables.get("stts"))
    chunks = _chunk_count(file, tables)
    return TrackFacts(
        handler=handler,
        entries=entries,
        width=width,
        height=height,
        samples=samples,
        timed_samples=max(stts.total, _summed_counts(file, tables.get("ctts")).total),
        chunks=chunks,
        chunk_samples=_chunk_samples(file, tables.get("stsc"), chunks),
        edits=edits,
        # FFmpeg's own rule for indexing uncompressed audio by chunk rather than by sample.
        pcm_chunked=handler == "soun" and fixed_size > 0 and stts.single_delta_of_one,
    )


def _read(file: BinaryIO, box: _Box, at: int, length: int) -> bytes:
    if box.start + at + length > box.end:
        raise _damaged()
    file.seek(box.start + at)
    return file.read(length)


def _u32(file: BinaryIO, box: _Box, at: int) -> int:
    return int.from_bytes(_read(file, box, at, 4), "big")


def _entry_count(file: BinaryIO, box: _Box, entry_size: int, header: int = 8) -> int:
    """A full box's entry count (after version and flags), which its body must hold."""
    count = _u32(file, box, header - 4)
    if count * entry_size > box.end - box.start - header:
        raise _damaged()
    return count


def _sample_entries(
    file: BinaryIO, stsd: _Box | None, handler: str
) -> tuple[tuple[str, ...], int, int]:
    if stsd is None:
        return (), 0, 0
    declared = _u32(file, stsd, 4)
    entries = list(_children(file, stsd, skip=8))
    if declared != len(entries):
        raise _damaged()
    width = height = 0
    if handler == "vide" and entries:
        width, height = _VISUAL_ENTRY.unpack(_read(file, entries[0], 0, _VISUAL_ENTRY.size))
    return tuple(entry.kind for entry in entries), width, height


def _sample_count(file: BinaryIO, tables: dict[str, _Box]) -> tuple[int, int]:
    """(sample_count, fixed sample size or 0) from stsz or stz2."""
    if (stsz := tables.get("stsz")) is not None:
        fixed, count = _u32(file, stsz, 4), _u32(file, stsz, 8)
        if not fixed and count * 4 > stsz.end - stsz.start - 12:
            raise _damaged()
        return count, fixed
    if (stz2 := tables.get("stz2")) is not None:
        field_bits, count = _read(file, stz2, 7, 1)[0], _u32(file, stz2, 8)
        if field_bits not in (4, 8, 16) or count * field_bits > 8 * (stz2.end - stz2.start - 12):
            raise _damaged()
        return count, 0
    return 0, 0


@dataclass(frozen=True, slots=True)
class _Counts:
    total: int
    single_delta_of_one: bool


def _summed_counts(file: BinaryIO, box: _Box | None) -> _Counts:
    """The sum of the first field of each 8-byte entry (stts and ctts: sample counts)."""
    if box is None:
        return _Counts(0, False)
    count = _entry_count(file, box, 8)
    total = 0
    first_delta = -1
    for samples, delta in _entries(file, box, count, ">II"):
        first_delta = delta if first_delta < 0 else first_delta
        total += samples
    return _Counts(total, count == 1 and first_delta == 1)


def _entries(file: BinaryIO, box: _Box, count: int, layout: str) -> Iterator[tuple[int, ...]]:
    """A table's `count` entries of `layout`, read a piece at a time (a table may be large)."""
    size = struct.calcsize(layout)
    file.seek(box.start + 8)
    left = count * size
    while left:
        piece = file.read(min(left, _TABLE_PIECE))
        if not piece or len(piece) % size:
            raise _damaged()
        left -= len(piece)
        yield from struct.iter_unpack(layout, piece)


def _chunk_count(file: BinaryIO, tables: dict[str, _Box]) -> int:
    if (stco := tables.get("stco")) is not None:
        return _entry_count(file, stco, 4)
    if (co64 := tables.get("co64")) is not None:
        return _entry_count(file, co64, 8)
    return 0


def _chunk_samples(file: BinaryIO, stsc: _Box | None, chunks: int) -> int:
    """The samples that stsc's runs (first chunk, samples per chunk) put into `chunks`."""
    if stsc is None:
        return 0
    count = _entry_count(file, stsc, 12)
    total = 0
    previous: tuple[int, int] | None = None
    for first, per_chunk, _ in _entries(file, stsc, count, ">III"):
        if previous is not None:
            total += max(0, min(first, chunks + 1) - previous[0]) * previous[1]
        previous = (first, per_chunk)
    if previous is not None:
        total += max(0, chunks + 1 - previous[0]) * previous[1]
    return total


_TRUN_FIELDS = (0x100, 0x200, 0x400, 0x800)  # per-sample duration, size, flags, offset


def _count_fragment(file: BinaryIO, moof: _Box, samples: dict[int, int]) -> None:
    for traf in (b for b in _children(file, moof) if b.kind == "traf"):
        parts = list(_children(file, traf))
        tfhd = next((p for p in parts if p.kind == "tfhd"), None)
        if tfhd is None:
            raise _damaged()
        track_id = _u32(file, tfhd, 4)
        for trun in (p for p in parts if p.kind == "trun"):
            flags = int.from_bytes(_read(file, trun, 1, 3), "big")
            count = _u32(file, trun, 4)
            fixed = 8 + 4 * bool(flags & 0x1) + 4 * bool(flags & 0x4)
            per_sample = 4 * sum(bool(flags & bit) for bit in _TRUN_FIELDS)
            if fixed + count * per_sample > trun.end - trun.start:
                raise _damaged()
            samples[track_id] = samples.get(track_id, 0) + count
