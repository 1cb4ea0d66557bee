"""Storyboards: the layout rules, the WebVTT, the claims of the pass (pure), and sprites made
from real clips whose frames say which moment they are."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pytest

from reelvault.generations.storyboard_controllers import etag_matches
from reelvault.generations.storyboards import (
    claim_until,
    failure_json,
    layout_json,
    parse_layout,
)
from reelvault.media.errors import NotAVideoError
from reelvault.media.storyboard import (
    StoryboardLayout,
    plan_layout,
    tile_size,
    tile_times,
    vtt_time,
    webvtt,
    write_storyboard,
)

# --- layout --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("duration", "interval", "count"),
    [
        (0.4, 1.0, 1),
        (1.0, 1.0, 1),
        (2.0, 1.0, 2),
        (12.5, 1.0, 13),
        (15.04, 1.0, 15),  # a last sliver of 40 ms joins the tile before it
        (60.0, 1.0, 60),
        (100.0, 1.0, 100),
        (100.5, 2.0, 51),
        (150.0, 2.0, 75),
        (900.0, 9.0, 100),
        (3600.0, 36.0, 100),
    ],
)
def test_one_tile_a_second_up_to_a_hundred(duration: float, interval: float, count: int) -> None:
    assert tile_times(duration) == (interval, count)


@pytest.mark.parametrize("duration", [0.01, 0.9, 7.3, 99.99, 101.0, 250.5, 899.9, 10_000.0])
def test_the_tiles_cover_the_duration_and_never_exceed_the_cap(duration: float) -> None:
    interval, count = tile_times(duration)
    assert 1 <= count <= 100
    assert interval == int(interval) >= 1
    assert (count - 1) * interval < duration  # every tile starts inside the video
    assert count * interval >= duration - 0.1 * interval  # and together they reach its end


@pytest.mark.parametrize("duration", [0.0, -1.0, math.nan, math.inf])
def test_a_duration_that_is_not_positive_is_refused(duration: float) -> None:
    with pytest.raises(ValueError, match="duration must be positive"):
        tile_times(duration)


@pytest.mark.parametrize(
    ("display", "size"),
    [
        ((1920, 1080), (160, 90)),
        ((1080, 1920), (160, 284)),
        ((640, 640), (160, 160)),
        ((64, 36), (64, 36)),  # never enlarged
        ((4096, 16), (160, 2)),
        ((200, 4000), (16, 320)),  # at most two tile widths tall: narrower instead
        ((721, 405), (160, 90)),
    ],
)
def test_tiles_keep_the_aspect_ratio_with_even_sides(
    display: tuple[int, int], size: tuple[int, int]
) -> None:
    width, height = tile_size(display)
    assert (width, height) == size
    assert width % 2 == 0 and height % 2 == 0


def test_the_grid_has_at_most_ten_columns() -> None:
    assert plan_layout(3.0, (1920, 1080)).columns == 3
    layout = plan_layout(42.0, (1920, 1080))
    assert (layout.columns, layout.rows, layout.count) == (10, 5, 42)
    assert layout.sprite_size == (1600, 450)
    assert layout.tile(0) == (0, 0, 160, 90)
    assert layout.tile(11) == (160, 90, 160, 90)
    assert layout.tile(41) == (160, 360, 160, 90)


# --- WebVTT --------------------------------------------------------------------------------


def test_vtt_times_are_hours_minutes_seconds_and_milliseconds() -> None:
    assert vtt_time(0) == "00:00:00.000"
    assert vtt_time(1_000) == "00:00:01.000"
    assert vtt_time(3_725_500) == "01:02:05.500"
    assert vtt_time(100 * 3_600_000 + 1) == "100:00:00.001"


def test_the_webvtt_covers_the_video_with_one_cue_per_tile() -> None:
    layout = plan_layout(12.5, (1280, 720))
    vtt = webvtt(layout, "/api/storyboard/abc/sprite.jpg?v=v1")
    header, *blocks = vtt.rstrip("\n").split("\n\n")
    assert header == "WEBVTT"
    assert len(blocks) == 13
    assert (
        blocks[0]
        == "00:00:00.000 --> 00:00:01.000\n/api/storyboard/abc/sprite.jpg?v=v1#xywh=0,0,160,90"
    )
    assert blocks[11] == (
        "00:00:11.000 --> 00:00:12.000\n/api/storyboard/abc/sprite.jpg?v=v1#xywh=160,90,160,90"
    )
    assert blocks[-1].startswith("00:00:12.000 --> 00:00:12.500\n")


@pytest.mark.parametrize("duration", [0.3, 2.0, 59.97, 100.5, 901.25, 7200.0])
def test_cues_follow_each_other_without_gaps_to_the_end(duration: float) -> None:
    layout = plan_layout(duration, (640, 360))
    lines = webvtt(layout, "s.jpg").split("\n")
    spans = [line.split(" --> ") for line in lines if " --> " in line]
    assert spans[0][0] == "00:00:00.000"
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end == start
    assert spans[-1][1] == vtt_time(round(duration * 1000))
    assert all(start < end for start, end in spans)  # fixed width: text order is time order


def test_a_layout_survives_its_column() -> None:
    layout = StoryboardLayout(2.0, 160, 90, 10, 51, 100.5)
    assert parse_layout(layout_json(layout)) == layout
    assert parse_layout(None) is None
    assert parse_layout(failure_json("undecodable")) is None
    assert parse_layout(claim_until(datetime.now(UTC))) is None
    assert parse_layout('{"interval": 1}') is None
    assert parse_layout("{not json") is None


def test_claims_sort_by_their_expiry() -> None:
    now = datetime(2026, 12, 2, 6, 0, 0, tzinfo=UTC)
    moments = [now + timedelta(microseconds=n) for n in (0, 1, 999_999, 10**6, 10**9)]
    claims = [claim_until(moment) for moment in moments]
    assert claims == sorted(claims)
    assert len({len(claim) for claim in claims}) == 1
    # The same moment in another zone is the same claim.
    assert claim_until(now.astimezone(datetime.now().astimezone().tzinfo)) == claims[0]


@pytest.mark.parametrize(
    ("header", "matches"),
    [('"abc"', True), ('W/"abc"', True), ('"x", "abc"', True), ("*", True), ('"abd"', False)],
)
def test_if_none_match_of_a_storyboard(header: str, matches: bool) -> None:
    assert etag_matches(header, '"abc"') is matches


# --- sprites from real clips ---------------------------------------------------------------

FPS = 24


def full_range(luma: int) -> float:
    """The video's limited-range luma as the JPEG holds it (full range)."""
    return (luma - 16) * 255 / 219


def ramp_clip(
    path: Path, seconds: int, *, gop: int, preset: str = "fast", rotation: int = 0
) -> Path:
    """A 64x36 H.264 clip whose frame i is flat grey of luma 16 + 2i (B-frames with `fast`):
    a tile's brightness tells which frame it was taken from."""
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 64, 36, "yuv420p"
        stream.codec_context.gop_size = gop
        stream.options = {"preset": preset, "crf": "4", "keyint_min": str(gop), "sc_threshold": "0"}
        if rotation:
            stream.set_display_rotation(rotation)
        for index in range(seconds * FPS):
            frame = av.VideoFrame(64, 36, "yuv420p")
            frame.pts = index
            frame.planes[0].update(bytes([16 + 2 * index]) * frame.planes[0].buffer_size)
            for plane in frame.planes[1:]:
                plane.update(b"\x80" * plane.buffer_size)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def tile_lumas(sprite: Path, layout: StoryboardLayout) -> list[float]:
    with av.open(str(sprite)) as container:
        frame = next(container.decode(video=0))
    assert (frame.width, frame.height) == layout.sprite_size
    plane = frame.planes[0]
    data = bytes(plane)
    means = []
    for index in range(layout.count):
        x, y, w, h = layout.tile(index)
        values = [
            data[row * plane.line_size + column]
            for row in range(y + 2, y + h - 2)
            for column in range(x + 2, x + w - 2)
        ]
        means.append(sum(values) / len(values))
    return means


@pytest.mark.parametrize(
    ("gop", "preset"),
    [(1, "fast"), (12, "fast"), (24, "fast"), (96, "fast"), (96, "ultrafast")],
    ids=["all-key", "key-half-second", "key-each-second", "one-key-b-frames", "one-key"],
)
def test_each_tile_is_the_frame_at_its_second(tmp_path: Path, gop: int, preset: str) -> None:
    video = ramp_clip(tmp_path / "ramp.mp4", 4, gop=gop, preset=preset)
    sprite = tmp_path / "sprite.jpg"

    layout = write_storyboard(video, sprite)

    assert (layout.count, layout.interval, layout.tile_width, layout.tile_height) == (4, 1, 64, 36)
    expected = [full_range(16 + 2 * FPS * second) for second in range(4)]  # frame 24s
    assert tile_lumas(sprite, layout) == pytest.approx(expected, abs=3)


def test_a_rotated_video_has_upright_tiles(tmp_path: Path) -> None:
    video = ramp_clip(tmp_path / "turned.mp4", 2, gop=12, rotation=90)
    sprite = tmp_path / "sprite.jpg"

    layout = write_storyboard(video, sprite)

    assert (layout.tile_width, layout.tile_height) == (36, 64)
    assert tile_lumas(sprite, layout) == pytest.approx([0, full_range(16 + 2 * FPS)], abs=3)


def test_a_cap_of_tiles_spreads_them_over_the_video(tmp_path: Path) -> None:
    video = ramp_clip(tmp_path / "ramp.mp4", 4, gop=24)
    sprite = tmp_path / "sprite.jpg"

    layout = write_storyboard(video, sprite, max_tiles=2)

    assert (layout.count, layout.interval) == (2, 2.0)
    assert tile_lumas(sprite, layout) == pytest.approx([0, full_range(16 + 4 * FPS)], abs=3)


def test_what_is_not_a_video_is_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("Not a video.\n" * 100)
    with pytest.raises(NotAVideoError):
        write_storyboard(text, tmp_path / "sprite.jpg")
    assert not (tmp_path / "sprite.jpg").exists()
