"""The pure parts of `reelvault storage migrate`: what is planned, how a local file's ETag is
computed, what the run reports and exits with."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import pytest

from reelvault.settings import Settings
from reelvault.storage.migrate import (
    EXIT_MISSING,
    Outcome,
    Result,
    StoredFile,
    Summary,
    content_type,
    human_bytes,
    local_etag,
    planned_files,
    s3_settings_problem,
    summary_lines,
)

ONE = uuid.UUID("00000000-0000-4000-8000-000000000001")
TWO = uuid.UUID("00000000-0000-4000-8000-000000000002")


def md5(data: bytes) -> hashlib._Hash:
    return hashlib.md5(data)  # noqa: S324 (what S3 computes, not a secret)


def test_each_stored_path_is_planned_once_with_its_kind() -> None:
    rows = [
        (ONE, "videos/1.mp4", "thumbnails/1.jpg", None),
        (TWO, "videos/2.mp4", None, "storyboards/2.jpg"),
        (TWO, "videos/2.mp4", None, None),  # a path named twice goes up once
    ]
    planned = planned_files(rows, ["video_path", "thumbnail_path", "storyboard_path"])
    assert planned == [
        StoredFile(ONE, "video", "videos/1.mp4"),
        StoredFile(ONE, "thumbnail", "thumbnails/1.jpg"),
        StoredFile(TWO, "video", "videos/2.mp4"),
        StoredFile(TWO, "storyboard", "storyboards/2.jpg"),
    ]


def test_content_types_follow_the_extension() -> None:
    assert content_type("videos/1.mp4") == "video/mp4"
    assert content_type("thumbnails/1.JPG") == "image/jpeg"
    assert content_type("storyboards/1.vtt") == "text/vtt"
    assert content_type("other/1") == "application/octet-stream"


def test_local_etag_is_the_md5_or_the_multipart_md5_of_md5s(tmp_path: Path) -> None:
    data = bytes(range(256)) * 41  # 10496 bytes: parts of 4096, 4096, 2304
    path = tmp_path / "clip.mp4"
    path.write_bytes(data)
    assert local_etag(path, 4096, multipart=False) == md5(data).hexdigest()
    parts = [md5(data[i : i + 4096]).digest() for i in (0, 4096, 8192)]
    expected = md5(b"".join(parts)).hexdigest() + "-3"
    assert local_etag(path, 4096, multipart=True) == expected


def test_a_file_of_exactly_one_part_has_one_part(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"x" * 4096)
    digest = md5(b"x" * 4096).digest()
    assert local_etag(path, 4096, multipart=True) == md5(digest).hexdigest() + "-1"


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({}, "REELVAULT_S3_BUCKET is not set"),
        ({"s3_bucket": "b", "s3_access_key_id": "key"}, "REELVAULT_S3_SECRET_ACCESS_KEY"),
        ({"s3_bucket": "b", "s3_secret_access_key": "secret"}, "REELVAULT_S3_ACCESS_KEY_ID"),
    ],
)
def test_incomplete_s3_settings_are_named(tmp_path: Path, fields: dict, problem: str) -> None:
    settings = Settings(data_dir=tmp_path, **fields).resolved()
    found = s3_settings_problem(settings)
    assert found is not None and problem in found


def test_complete_s3_settings_have_no_problem(tmp_path: Path) -> None:
    for fields in (
        {"s3_bucket": "b"},
        {"s3_bucket": "b", "s3_access_key_id": "k", "s3_secret_access_key": "s"},
    ):
        assert s3_settings_problem(Settings(data_dir=tmp_path, **fields).resolved()) is None


def _summary(*outcomes: Outcome, stopped: str = "") -> Summary:
    results = [
        Result(StoredFile(ONE, "video", f"videos/{n}.mp4"), outcome, 10)
        for n, outcome in enumerate(outcomes)
    ]
    return Summary(len(results), 10 * len(results), results, stopped=stopped)


def test_exit_code_is_zero_only_when_every_file_is_in_the_bucket() -> None:
    assert _summary(Outcome.UPLOADED, Outcome.PRESENT, Outcome.BUCKET_ONLY).exit_code == 0
    assert _summary(Outcome.UPLOADED, Outcome.MISSING).exit_code == EXIT_MISSING
    assert _summary(Outcome.MISSING, Outcome.FAILED).exit_code == 1
    assert _summary(Outcome.UPLOADED, Outcome.NOT_ATTEMPTED).exit_code == 1
    assert _summary(Outcome.UPLOADED, stopped="the store stopped").exit_code == 1
    assert _summary().exit_code == 0  # an empty library is migrated


def test_the_summary_names_missing_rows_and_says_how_to_finish(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, s3_bucket="media", s3_prefix="lib").resolved()
    summary = _summary(Outcome.UPLOADED, Outcome.MISSING)
    text = "\n".join(summary_lines(summary, settings))
    assert "s3://media/lib/ at AWS" in text
    assert "uploaded:         1 (10 B)" in text
    assert f"generation {ONE} video: videos/1.mp4" in text
    assert "rm -r" not in text  # not everything is in the bucket: no advice to remove
    assert "named by no row" not in text

    summary.unnamed = ["videos/gone.mp4"]
    assert "named by no row:  1" in "\n".join(summary_lines(summary, settings))
    assert summary.exit_code == EXIT_MISSING  # strays are reported, they fail nothing

    done = "\n".join(summary_lines(_summary(Outcome.UPLOADED, Outcome.PRESENT), settings))
    assert "REELVAULT_STORAGE=s3" in done
    assert f"rm -r {settings.media_root / 'videos'}" in done


def test_human_bytes() -> None:
    assert human_bytes(0) == "0 B"
    assert human_bytes(999) == "999 B"
    assert human_bytes(1500) == "1.5 KB"
    assert human_bytes(5_600_000) == "5.6 MB"
    assert human_bytes(3 * 10**15) == "3000.0 TB"
