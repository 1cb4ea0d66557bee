"""A completed video whose file is gone says "File missing" on its card and its page, with
nothing that looks playable; the page's placeholder takes the video's own shape, and its icon
and words sit together (for processing and failed videos too)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import Library
from tests.browser.screens import shoot

pytestmark = pytest.mark.browser

GONE = {"status": "completed", "progress": None, "video_path": "videos/gone.mp4"}

PLACEHOLDER = """() => {
  const root = document.querySelector('video-page').shadowRoot;
  const box = root.querySelector('.placeholder').getBoundingClientRect();
  const icon = root.querySelector('.placeholder .icon').getBoundingClientRect();
  const text = root.querySelector('.placeholder-text').getBoundingClientRect();
  return { ratio: box.width / box.height, gap: text.top - icon.bottom,
           middle: (icon.top + text.bottom) / 2 - (box.top + box.height / 2) };
}"""


def card_of(page: Page, prompt: str):
    return page.locator("video-card").filter(has=page.get_by_role("link", name=prompt))


def test_a_card_whose_file_is_gone_says_file_missing_not_completed(
    page: Page, library: Library, clips: dict[str, Path], artifacts: Path
) -> None:
    item = library.import_clip(clips["9:16"], "Vanished perfume ad")
    library.import_clip(clips["16:9"], "Playable coffee ad")
    library.set_fields(item["id"], video_path="videos/vanished.mp4")
    page.goto("/gallery")
    gone = card_of(page, "Vanished perfume ad")
    expect(gone.get_by_text("File missing", exact=True).first).to_be_visible()
    expect(gone.locator("status-badge")).to_have_text("File missing")
    expect(gone.get_by_text("Completed")).to_have_count(0)
    # No duration: nothing about it suggests it plays.
    expect(gone.locator(".duration")).to_be_hidden()
    playable = card_of(page, "Playable coffee ad")
    expect(playable.locator("status-badge")).to_have_text("Completed")
    expect(playable.locator(".duration")).to_be_visible()
    shoot(page, artifacts, "file-missing-card", full_page=False)


@pytest.mark.parametrize(
    ("fields", "ratio"),
    [
        ({"width": 480, "height": 480, **GONE}, 1.0),
        ({"width": 360, "height": 640, **GONE}, 9 / 16),
        ({"status": "processing", "progress": 30, "aspect_ratio": "9:16"}, 9 / 16),
        (
            {
                "status": "failed",
                "error": "The model ran out of credits.",
                "width": 640,
                "height": 360,
            },
            16 / 9,
        ),
    ],
    ids=["missing-square", "missing-tall", "processing-tall", "failed-wide"],
)
def test_the_detail_placeholder_takes_the_videos_shape_with_icon_and_words_together(
    page: Page, library: Library, artifacts: Path, fields: dict, ratio: float, request
) -> None:
    [row] = library.insert([library.row(prompt="Shaped placeholder", **fields)])
    page.goto(f"/gallery/{row['id']}")
    expect(page.get_by_role("heading", name="Shaped placeholder")).to_be_visible()
    if fields["status"] == "completed":
        expect(page.locator("status-badge")).to_have_text("File missing")
        expect(page.get_by_text("File missing: the video file is gone")).to_be_visible()
        expect(page.get_by_role("link", name="Download")).to_have_count(0)
        expect(page.locator("video-player")).to_be_hidden()
    shape = page.evaluate(PLACEHOLDER)
    assert shape["ratio"] == pytest.approx(ratio, rel=0.03)
    # Icon and words sit together in the middle, not at the two ends of the box.
    assert 0 <= shape["gap"] <= 24
    assert abs(shape["middle"]) <= 40
    if request.node.callspec.id in ("missing-square", "processing-tall"):
        shoot(page, artifacts, f"detail-{request.node.callspec.id}", full_page=False)
