"""The worker's pure parts: backoff, the caption font, the engine protocol's helpers."""

from __future__ import annotations

import random
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reelvault.worker.backoff import Backoff
from reelvault.worker.beside import worker_wanted
from reelvault.worker.demo_engine import pace_from_env
from reelvault.worker.engine import (
    ERROR_MAX,
    CannotGenerate,
    EngineNotFound,
    Job,
    JobCancelled,
    failure_sentence,
    is_async,
    load_engine,
)
from reelvault.worker.font import GLYPH_HEIGHT, INK, PAPER, caption, normalise, wrap


def test_backoff_doubles_up_to_its_cap_with_jitter_in_the_upper_half() -> None:
    backoff = Backoff(initial=0.5, cap=10.0, rng=random.Random(7))
    ceilings = []
    for _ in range(12):
        ceiling = backoff.ceiling()
        delay = backoff.next()
        assert ceiling / 2 <= delay <= ceiling
        ceilings.append(ceiling)
    assert ceilings[:6] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0]
    assert set(ceilings[5:]) == {10.0}


def test_backoff_reset_starts_again_from_the_initial_pause() -> None:
    backoff = Backoff(initial=0.5, cap=10.0)
    for _ in range(8):
        backoff.next()
    backoff.reset()
    assert backoff.next() <= 0.5


def test_backoff_never_overflows_after_many_failures() -> None:
    backoff = Backoff(initial=0.5, cap=10.0, failures=10_000)
    assert 5.0 <= backoff.next() <= 10.0


def test_backoff_jitter_spreads_workers_apart() -> None:
    delays = {Backoff(rng=random.Random(seed), failures=4).next() for seed in range(20)}
    assert len(delays) == 20


@pytest.mark.parametrize("bad", [{"initial": 0}, {"initial": 11, "cap": 10}, {"factor": 0.5}])
def test_backoff_refuses_nonsense(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="backoff needs"):
        Backoff(**bad)


def test_normalise_folds_what_the_font_cannot_draw() -> None:
    assert normalise("Café  crème\n\tbrûlée") == "CAFE CREME BRULEE"
    assert normalise("猫 ok 🎬") == "? OK ?"
    assert normalise("") == ""


def test_wrap_keeps_words_and_ends_with_an_ellipsis_when_cut() -> None:
    assert wrap("a red sneaker on wet asphalt", 10, 5) == ["A RED", "SNEAKER ON", "WET", "ASPHALT"]
    assert wrap("a red sneaker on wet asphalt", 10, 2) == ["A RED", "SNEAKER..."]
    assert wrap("x" * 25, 10, 5) == ["X" * 10, "X" * 10, "X" * 5]
    assert wrap("anything", 0, 3) == []
    assert wrap("anything", 3, 0) == []


@pytest.mark.parametrize(("width", "height"), [(360, 640), (640, 360), (480, 480)])
def test_caption_of_a_demo_size_sits_at_the_bottom_inside_the_frame(
    width: int, height: int
) -> None:
    text = caption("Luxury watch on black marble, slow orbit, golden rim light", width, height)
    assert text is not None
    assert text.x >= 0 and text.y >= 0
    assert text.x + text.width <= width and text.y + text.height <= height
    assert text.y > height // 2  # a subtitle
    assert text.height <= height // 3
    assert all(len(row) == text.width for row in text.rows) and len(text.rows) == text.height
    assert text.x % 2 == text.y % 2 == text.width % 2 == text.height % 2 == 0  # 4:2:0
    inked = sum(row.count(INK) for row in text.rows)
    assert inked > 0 and all(set(row) <= {INK, PAPER} for row in text.rows)


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(max_size=3000),
    width=st.integers(1, 1200).map(lambda n: 2 * n),
    height=st.integers(1, 1200).map(lambda n: 2 * n),
)
def test_a_caption_never_draws_outside_its_frame(text: str, width: int, height: int) -> None:
    drawn = caption(text, width, height)
    if drawn is None:
        return
    assert drawn.x >= 0 and drawn.x + drawn.width <= width
    assert drawn.y >= 0 and drawn.y + drawn.height <= height
    line_size = width + 32  # planes are padded past the width, as FFmpeg's are
    plane = bytearray(line_size * height)
    drawn.draw(plane, line_size)
    assert len(plane) == line_size * height
    for row in range(height):  # nothing in the padding, nothing outside the box
        line = plane[row * line_size : (row + 1) * line_size]
        assert not any(line[width:])
        if not drawn.y <= row < drawn.y + drawn.height:
            assert not any(line)


def test_tiny_frames_get_no_caption_rather_than_a_clipped_one() -> None:
    assert caption("hello", 2, 2) is None
    assert caption("hello", 16, 16) is None
    assert caption("", 640, 360) is None
    tall = caption("hi", 64, 2 * GLYPH_HEIGHT * 3 + 12)
    assert tall is None or tall.y + tall.height <= 2 * GLYPH_HEIGHT * 3 + 12


def test_report_clamps_progress_and_raises_once_the_job_is_cancelled(tmp_path: Path) -> None:
    job = Job(uuid.uuid4(), "p", 5, "9:16", 1, tmp_path)
    job.report(150)
    assert job.progress == 100
    job.report(-3)
    assert job.progress == 0
    job.cancel()
    with pytest.raises(JobCancelled):
        job.report(50)
    assert job.progress == 0


def test_failure_sentence_is_one_short_line_without_paths() -> None:
    sentence = failure_sentence(FileNotFoundError(2, "No such file", "/srv/models/w.bin"))
    assert "/srv" not in sentence and "FileNotFoundError" in sentence
    long = failure_sentence(RuntimeError("boom\n" * 400 + "\x00"))
    assert len(long) <= ERROR_MAX and "\n" not in long and "\x00" not in long
    assert failure_sentence(RuntimeError()) == "The generator failed (RuntimeError)."
    assert failure_sentence(CannotGenerate("The prompt names a real person.")) == (
        "The prompt names a real person."
    )
    assert failure_sentence(CannotGenerate("")) == "The generator cannot make this video."
    assert "16:9" in failure_sentence(CannotGenerate("Only 16:9 at 1/2 speed"))


async def _async_engine(job: Job) -> str:
    return "x"


def test_load_engine_finds_demo_and_module_callables_and_says_why_not() -> None:
    from reelvault.worker import demo_engine

    assert load_engine("demo") is demo_engine.generate
    assert load_engine("reelvault.worker.demo_engine:generate") is demo_engine.generate
    assert load_engine("tests.unit.test_worker_parts:_async_engine") is _async_engine
    assert is_async(_async_engine) and not is_async(demo_engine.generate)
    for spec, words in [
        ("nonsense", "module:callable"),
        ("no.such.module:run", "cannot be imported"),
        ("reelvault.worker.demo_engine:missing", "has no"),
        ("reelvault.worker.demo_engine:SIZES", "not callable"),
    ]:
        with pytest.raises(EngineNotFound, match=words):
            load_engine(spec)


def test_demo_pace_comes_from_the_environment_and_is_checked() -> None:
    assert pace_from_env({}) == 0.5
    assert pace_from_env({"REELVAULT_DEMO_PACE": "0"}) == 0
    for bad in ("fast", "-1", "11", "nan"):
        with pytest.raises(ValueError, match="REELVAULT_DEMO_PACE"):
            pace_from_env({"REELVAULT_DEMO_PACE": bad})


def test_the_demo_worker_switch() -> None:
    assert worker_wanted({})
    assert worker_wanted({"REELVAULT_DEMO_WORKER": "on"})
    assert not worker_wanted({"REELVAULT_DEMO_WORKER": "off"})
    assert not worker_wanted({"REELVAULT_DEMO_WORKER": " OFF "})
