"""Small pure rules of the generations and media domains."""

from __future__ import annotations

import pytest

from reelvault.errors import InvalidValue, NotFound
from reelvault.generations.services import validate_prompt
from reelvault.generations.upload import UploadRejected, multipart_boundary
from reelvault.media.ingest import thumbnail_width
from reelvault.paths import parse_id
from reelvault.storage.store import MediaStore, OutsideMediaDirectory


@pytest.mark.parametrize(
    ("size", "expected"),
    [((640, 360), 640), ((480, 480), 640), ((360, 640), 360), ((1080, 1920), 360)],
)
def test_thumbnails_fit_a_640_box(size: tuple[int, int], expected: int) -> None:
    assert thumbnail_width(*size) == expected


def test_prompt_rules() -> None:
    assert validate_prompt("  Neon sneakers  ") == "Neon sneakers"
    assert validate_prompt("p" * 2000) == "p" * 2000
    for bad in (None, "", "   ", "p" * 2001):
        with pytest.raises(InvalidValue):
            validate_prompt(bad)


def test_malformed_ids_are_not_found() -> None:
    assert (
        str(parse_id("0b5d4b0e-3c55-4a0c-9f6e-9f1c3b6d2a10"))
        == "0b5d4b0e-3c55-4a0c-9f6e-9f1c3b6d2a10"
    )
    for bad in ("", "x", "../etc/passwd", "0b5d4b0e-3c55-4a0c-9f6e"):
        with pytest.raises(NotFound):
            parse_id(bad)


def test_stored_paths_cannot_leave_the_media_directory(tmp_path) -> None:
    store = MediaStore(tmp_path.resolve())
    assert store.resolve("videos/a.mp4") == tmp_path.resolve() / "videos" / "a.mp4"
    for bad in ("../secret", "/etc/passwd", "videos/../../x", ""):
        with pytest.raises(OutsideMediaDirectory):
            store.resolve(bad)


@pytest.mark.parametrize(
    ("header", "boundary"),
    [
        ("multipart/form-data; boundary=abc", b"abc"),
        ('Multipart/Form-Data; charset=utf-8; boundary="a b"', b"a b"),
    ],
)
def test_boundary_is_read(header: str, boundary: bytes) -> None:
    assert multipart_boundary(header) == boundary


@pytest.mark.parametrize(
    "header", [None, "application/json", "multipart/form-data", "multipart/mixed; boundary=x"]
)
def test_other_bodies_are_rejected(header: str | None) -> None:
    with pytest.raises(UploadRejected):
        multipart_boundary(header)
