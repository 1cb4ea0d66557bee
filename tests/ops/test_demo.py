"""`reelvault demo` creates a usable demo account whose clips are real and sized as claimed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reelvault.demo.library import DEMO_EMAIL, DEMO_ITEMS, DEMO_PASSWORD, SIZES
from reelvault.media.probe import probe
from reelvault.settings import Settings
from tests.support.servers import ROOT, LiveServer, live_app, migrate, settings_env


def demo(settings: Settings, *args: str) -> str:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("reelvault")), "demo", *args],
        cwd=ROOT,
        env={**os.environ, **settings_env(settings)},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("demo")).resolved()
    migrate(settings)
    output = demo(settings)
    assert f"{len(DEMO_ITEMS)} generations created" in output
    assert DEMO_EMAIL in output and DEMO_PASSWORD in output
    with live_app(settings) as server:
        yield server


def test_demo_clips_decode_and_have_the_sizes_claimed(demo_server: LiveServer) -> None:
    with httpx.Client(base_url=demo_server.base_url) as client:
        login = client.post(
            "/api/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}
        )
        assert login.status_code == 200
        items = client.get("/api/generations", params={"limit": 100}).json()["generations"]
    assert len(items) == len(DEMO_ITEMS)
    statuses = {item["status"] for item in items}
    assert statuses == {"completed", "pending", "processing", "failed"}
    aspects = set()
    for item in items:
        if item["status"] != "completed":
            assert item["video_url"] is None
            continue
        expected = next(d for d in DEMO_ITEMS if d.prompt == item["prompt"])
        path = demo_server.settings.media_root / "videos" / f"{item['id']}.mp4"
        info = probe(path)
        assert (
            (info.width, info.height) == SIZES[expected.aspect] == (item["width"], item["height"])
        )
        assert info.video_codec == "h264"
        assert abs(info.duration_seconds - expected.seconds) < 0.2
        assert item["file_available"] and item["thumbnail_url"]
        aspects.add(expected.aspect)
    assert aspects == {"9:16", "16:9", "1:1"}


def test_the_demo_videos_get_storyboards_from_the_background_pass(
    demo_server: LiveServer,
) -> None:
    # Signing in while media children work on a loaded machine may take more than 5 s.
    with httpx.Client(base_url=demo_server.base_url, timeout=60) as client:
        login = client.post(
            "/api/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}
        )
        assert login.status_code == 200
        deadline = time.monotonic() + 120  # a media child per video, on a loaded machine
        while True:
            items = client.get("/api/generations", params={"status": "completed"}).json()
            missing = [i for i in items["generations"] if i["storyboard_url"] is None]
            if not missing:
                break
            assert time.monotonic() < deadline, f"{len(missing)} demo videos have no storyboard"
            time.sleep(0.5)
        for item in items["generations"]:
            vtt = client.get(item["storyboard_url"])
            assert vtt.status_code == 200
            # One tile a second (the item's duration is rounded).
            assert abs(vtt.text.count(" --> ") - item["duration"]) <= 1


def test_a_second_run_reuses_and_repairs(demo_server: LiveServer) -> None:
    assert "0 generations created" in demo(demo_server.settings)
    videos = sorted((demo_server.settings.media_root / "videos").iterdir())
    videos[0].unlink()
    assert "1 generations created" in demo(demo_server.settings)
    assert len(list((demo_server.settings.media_root / "videos").iterdir())) == len(videos)


def test_no_demo_account_outside_the_embedded_default(tmp_path: Path) -> None:
    """Its password is public: on a database named by REELVAULT_DATABASE_URL (production's
    PostgreSQL, or any other file) `reelvault demo` makes nothing."""
    import sqlite3

    database = tmp_path / "elsewhere.db"
    settings = Settings(
        data_dir=tmp_path, database_url=f"sqlite+aiosqlite:///{database}"
    ).resolved()
    migrate(settings)
    output = demo(settings)
    assert "No demo account" in output and DEMO_PASSWORD not in output
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT count(*) FROM user_account").fetchone() == (0,)
    assert not list((settings.media_root / "videos").glob("*.mp4"))
