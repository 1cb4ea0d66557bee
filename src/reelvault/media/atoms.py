"""The top-level atom (box) structure of an MP4/MOV file, read without FFmpeg: where `moov`
sits and whether the file was cut short. Plain byte reads, bounded in count."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from reelvault.media.errors import NotAVideoError

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
