"""`reelvault storage migrate --to s3`, run as an operator runs it (a child process) on a local
library of real imported clips, into a real S3-protocol server, on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import struct
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from reelvault.settings import Settings
from tests.conftest import BACKENDS, database_url
from tests.support.factories import PASSWORD
from tests.support.media import clip
from tests.support.s3 import S3Server, s3_env, s3_server, s3_settings
from tests.support.servers import ROOT, live_app, settings_env

PART_BYTES = 5 * 1024 * 1024  # the smallest part S3 takes: one padded clip goes up in parts
MEDIA_FOLDERS = ("videos", "thumbnails", "storyboards")
CLIPS = [
    clip(320, 180, 1.0),
    clip(256, 144, 1.0),
    clip(160, 90, 1.0),
    clip(192, 108, 1.0, with_audio=True),
    clip(224, 126, 1.0),
]


@dataclass
class Library:
    settings: Settings
    email: str
    ids: list[str]

    def files(self) -> dict[str, Path]:
        """Every stored file on the local disk, by key (its path under the media directory)."""
        root = self.settings.media_root
        return {
            str(path.relative_to(root)): path
            for folder in MEDIA_FOLDERS
            for path in sorted((root / folder).rglob("*"))
            if path.is_file()
        }


def pad_with_free_box(path: Path, size: int) -> None:
    """Grow an MP4 past `size` with a top-level `free` box, which players skip."""
    extra = size - path.stat().st_size + 8
    with path.open("ab") as handle:
        handle.write(struct.pack(">I4s", extra, b"free") + bytes(extra - 8))


def wait_for_storyboard(client: httpx.Client, generation_id: str) -> None:
    """Ask for a video's storyboard (made on first need, in the background) until it is there."""
    deadline = time.monotonic() + 90
    while client.get(f"/api/storyboard/{generation_id}").status_code != 200:
        assert time.monotonic() < deadline, "no storyboard was made"
        time.sleep(0.2)


@pytest.fixture(scope="module", params=BACKENDS)
def library(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Library]:
    workdir = tmp_path_factory.mktemp(f"migrate-{request.param}")
    with database_url(request.param, workdir) as url:
        # Storyboards only when asked for: none is being made while the library is copied.
        settings = Settings(data_dir=workdir, database_url=url, storyboards="on-demand").resolved()
        email = "owner@example.com"
        with (
            live_app(settings, migrate=True) as app,
            httpx.Client(base_url=app.base_url, timeout=60) as client,
        ):
            created = client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
            assert created.status_code == 201, created.text
            login = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
            client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
            ids = []
            for number, source in enumerate(CLIPS):
                with source.open("rb") as handle:
                    response = client.post(
                        "/api/generations",
                        data={"prompt": f"Clip {number}"},
                        files={"file": (source.name, handle, "video/mp4")},
                    )
                assert response.status_code == 201, response.text
                ids.append(response.json()["id"])
            for generation_id in ids[:3]:  # some with a storyboard, some without
                wait_for_storyboard(client, generation_id)
        padded = settings.media_root / "videos" / f"{ids[1]}.mp4"
        pad_with_free_box(padded, PART_BYTES + 300_000)
        yield Library(settings, email, ids)


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


def cli_env(library: Library, server: S3Server, bucket: str) -> dict[str, str]:
    return {
        **os.environ,
        **settings_env(library.settings),
        **s3_env(s3_settings(library.settings, server, bucket)),
        # The app still runs on the local disk while its files are copied.
        "REELVAULT_STORAGE": "local",
        "REELVAULT_S3_PART_BYTES": str(PART_BYTES),
    }


def command(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("reelvault")), "storage", "migrate", *args]


def migrate(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command("--to", "s3", *args), cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def counted(output: str, label: str) -> int:
    found = re.search(rf"^  {label}:\s+(\d+)", output, re.MULTILINE)
    assert found, f"no {label!r} line in:\n{output}"
    return int(found.group(1))


def bucket_objects(server: S3Server, bucket: str) -> dict[str, bytes]:
    client = server.client()
    return {
        key: client.get_object(Bucket=bucket, Key=key)["Body"].read() for key in server.keys(bucket)
    }


def assert_bucket_equals_disk(library: Library, server: S3Server, bucket: str) -> None:
    objects = bucket_objects(server, bucket)
    files = library.files()
    assert set(objects) == set(files)
    for key, path in files.items():
        assert objects[key] == path.read_bytes(), key


def test_a_library_goes_up_verified_and_a_second_run_uploads_nothing(
    library: Library, s3: S3Server
) -> None:
    bucket = s3.new_bucket()
    env = cli_env(library, s3, bucket)
    files = library.files()
    assert len(files) == 2 * len(CLIPS) + 3

    dry = migrate(env, "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert counted(dry.stdout, "would upload") == len(files)
    assert "rm -r" not in dry.stdout
    assert s3.keys(bucket) == []

    first = migrate(env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert counted(first.stdout, "uploaded") == len(files)
    assert counted(first.stdout, "already there") == 0
    assert counted(first.stdout, "failed") == 0
    assert "REELVAULT_STORAGE=s3" in first.stdout and "rm -r" in first.stdout
    assert re.search(rf"\[ *{len(files)}/{len(files)}\] uploaded ", first.stderr)
    assert_bucket_equals_disk(library, s3, bucket)
    client = s3.client()
    padded = f"videos/{library.ids[1]}.mp4"
    assert client.head_object(Bucket=bucket, Key=padded)["ETag"].strip('"').endswith("-2")
    for key in files:
        kind = client.head_object(Bucket=bucket, Key=key)["ContentType"]
        assert kind == ("video/mp4" if key.endswith(".mp4") else "image/jpeg"), key
    assert set(library.files()) == set(files)  # the local files stay

    second = migrate(env, "--jobs", "2")
    assert second.returncode == 0, second.stdout + second.stderr
    assert counted(second.stdout, "uploaded") == 0
    assert counted(second.stdout, "already there") == len(files)


def test_an_app_on_s3_serves_the_migrated_library(
    library: Library, s3: S3Server, tmp_path: Path
) -> None:
    bucket = s3.new_bucket()
    migrated = migrate(cli_env(library, s3, bucket))
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    files = library.files()
    # A media directory of its own, empty: whatever it serves comes from the bucket.
    settings = s3_settings(library.settings, s3, bucket, media_dir=tmp_path / "elsewhere")
    with live_app(settings) as app, httpx.Client(base_url=app.base_url, timeout=60) as client:
        login = client.post("/api/auth/login", json={"email": library.email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        listing = client.get("/api/generations", params={"limit": 100}).json()["generations"]
        assert {item["id"] for item in listing} == set(library.ids)
        assert all(item["file_available"] for item in listing)
        for generation_id in library.ids:
            video = client.get(f"/api/video/{generation_id}")
            assert video.status_code == 200, video.text
            assert video.content == files[f"videos/{generation_id}.mp4"].read_bytes()
            ranged = client.get(f"/api/video/{generation_id}", headers={"Range": "bytes=100-199"})
            assert ranged.status_code == 206
            assert ranged.content == files[f"videos/{generation_id}.mp4"].read_bytes()[100:200]
            thumbnail = client.get(f"/api/thumbnail/{generation_id}")
            assert thumbnail.status_code == 200
            assert thumbnail.content == files[f"thumbnails/{generation_id}.jpg"].read_bytes()
        for generation_id in library.ids[:3]:
            (sprite_file,) = (
                path
                for key, path in files.items()
                if key.startswith(f"storyboards/{generation_id}")
            )
            sprite = client.get(f"/api/storyboard/{generation_id}/sprite.jpg")
            assert sprite.status_code == 200, sprite.text
            assert sprite.content == sprite_file.read_bytes()
    elsewhere = tmp_path / "elsewhere"
    assert [
        path for path in elsewhere.rglob("*") if path.is_file() and path.suffix != ".lock"
    ] == []


# What does not depend on the database runs on one.
@pytest.mark.parametrize("library", ["sqlite"], indirect=True)
def test_an_object_that_differs_from_the_local_file_is_sent_again_and_strays_are_named(
    library: Library, s3: S3Server
) -> None:
    bucket = s3.new_bucket()
    env = cli_env(library, s3, bucket)
    video = f"videos/{library.ids[0]}.mp4"
    thumbnail = f"thumbnails/{library.ids[0]}.jpg"
    local = library.files()
    client = s3.client()
    # Same size, other bytes (a damaged copy); and a truncated one.
    damaged = bytearray(local[video].read_bytes())
    damaged[-1] ^= 0xFF
    client.put_object(Bucket=bucket, Key=video, Body=bytes(damaged))
    client.put_object(Bucket=bucket, Key=thumbnail, Body=local[thumbnail].read_bytes()[:-10])
    # And one no row names (a generation deleted since an earlier run): reported, left alone.
    stray = f"videos/{uuid.uuid4()}.mp4"
    client.put_object(Bucket=bucket, Key=stray, Body=b"stray")

    result = migrate(env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert counted(result.stdout, "uploaded") == len(local)
    assert counted(result.stdout, "named by no row") == 1
    assert stray in result.stdout
    client.delete_object(Bucket=bucket, Key=stray)
    assert_bucket_equals_disk(library, s3, bucket)


# What does not depend on the database runs on one.
@pytest.mark.parametrize("library", ["sqlite"], indirect=True)
def test_a_run_killed_in_the_middle_is_finished_by_the_next(library: Library, s3: S3Server) -> None:
    bucket = s3.new_bucket()
    env = cli_env(library, s3, bucket)
    total = len(library.files())
    child = subprocess.Popen(
        command("--to", "s3", "--jobs", "1"),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stderr is not None
        uploaded = 0
        while uploaded < 2:
            line = child.stderr.readline()
            assert line, "the migration ended before it could be interrupted"
            uploaded += " uploaded " in line
        # Frozen, the store cannot take another object before the child dies mid-request.
        with s3.paused():
            child.kill()
            child.wait(timeout=10)
    finally:
        with contextlib.suppress(ProcessLookupError):
            child.kill()
        child.wait(timeout=10)
    left = s3.keys(bucket)
    assert 2 <= len(left) < total

    rerun = migrate(env)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert counted(rerun.stdout, "already there") >= len(left) - 1  # one may have been cut
    assert counted(rerun.stdout, "uploaded") + counted(rerun.stdout, "already there") == total
    assert_bucket_equals_disk(library, s3, bucket)


# What does not depend on the database runs on one.
@pytest.mark.parametrize("library", ["sqlite"], indirect=True)
def test_a_store_that_stops_answering_stops_the_run_and_a_rerun_completes(
    library: Library,
) -> None:
    with s3_server() as server:
        bucket = server.new_bucket()
        env = cli_env(library, server, bucket)
        child = subprocess.Popen(
            command("--to", "s3", "--jobs", "1"),
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert child.stderr is not None and child.stdout is not None
        uploaded = 0
        while uploaded < 2:
            line = child.stderr.readline()
            assert line, "the migration ended before the store stopped"
            uploaded += " uploaded " in line
        server.stop()
        stdout, _ = child.communicate(timeout=120)
        assert child.returncode == 1
        assert "Stopped early: the object store stopped answering" in stdout
        assert "Run the command again" in stdout
        assert "rm -r" not in stdout

        server.start()  # an empty store again (moto keeps objects in memory)
        server.client().create_bucket(Bucket=bucket)
        rerun = migrate(env)
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        assert_bucket_equals_disk(library, server, bucket)


def test_a_row_whose_file_is_gone_is_reported_and_the_exit_code_says_so(
    library: Library, s3: S3Server, tmp_path: Path
) -> None:
    bucket = s3.new_bucket()
    env = cli_env(library, s3, bucket)
    gone_id = library.ids[2]
    thumbnail = library.settings.media_root / "thumbnails" / f"{gone_id}.jpg"
    kept = tmp_path / "kept.jpg"
    shutil.move(thumbnail, kept)
    try:
        result = migrate(env)
        present = library.files()
    finally:
        shutil.move(kept, thumbnail)
    assert result.returncode == 3, result.stdout + result.stderr
    assert counted(result.stdout, "missing locally") == 1
    assert (
        f"generation {gone_id} thumbnail: thumbnails/{gone_id}.jpg (no such file)" in result.stdout
    )
    assert counted(result.stdout, "uploaded") == len(present)
    assert set(s3.keys(bucket)) == set(present)
    assert "rm -r" not in result.stdout

    # Put back, it goes up; removed once it is in the bucket, it is no longer missing.
    again = migrate(env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert counted(again.stdout, "uploaded") == 1
    shutil.move(thumbnail, kept)
    try:
        after = migrate(env)
    finally:
        shutil.move(kept, thumbnail)
    assert after.returncode == 0, after.stdout + after.stderr
    assert "only in the bucket" in after.stdout
    assert counted(after.stdout, "missing locally") == 0


def test_incomplete_settings_and_a_silent_bucket_are_refused(tmp_path: Path, s3: S3Server) -> None:
    settings = Settings(data_dir=tmp_path).resolved()
    env = {
        **os.environ,
        **settings_env(settings),
        **s3_env(s3_settings(settings, s3, "no-such-bucket")),
        "REELVAULT_STORAGE": "local",
    }
    no_bucket = migrate({**env, "REELVAULT_S3_BUCKET": ""})
    assert no_bucket.returncode == 1
    assert "REELVAULT_S3_BUCKET is not set" in no_bucket.stderr

    unknown = migrate(env)
    assert unknown.returncode == 1
    assert f"s3://no-such-bucket/ at {s3.endpoint_url} does not answer" in unknown.stderr
    assert "Traceback" not in unknown.stderr

    wrong = subprocess.run(
        command("--to", "gcs"), cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert wrong.returncode == 2
    assert "'gcs' is not 's3'" in wrong.stderr
