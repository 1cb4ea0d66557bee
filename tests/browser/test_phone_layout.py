"""Phones: two cards a row at 375 px, and tiles shaped for the mix of videos: tall (9:16) and
square ones fill a 4:5 tile instead of sitting between black bars, wide ones are shown whole
over a blurred copy of themselves."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import Library, grid_columns
from tests.browser.screens import load_lazy_thumbnails, shoot

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 812}

TILES = """() => [...document.querySelector('gallery-page').shadowRoot
    .querySelectorAll('video-card')].map((card) => {
      const root = card.shadowRoot;
      const frame = root.querySelector('.frame').getBoundingClientRect();
      const img = root.querySelector('img.picture');
      return {
        prompt: root.querySelector('h2 a').textContent,
        frame: frame.width / frame.height,
        fit: getComputedStyle(img).objectFit,
        backdrop: !root.querySelector('img.backdrop').hidden,
      };
    })"""


def test_a_phone_shows_two_cards_a_row_and_tall_videos_fill_their_tiles(
    page: Page, library: Library, clips: dict[str, Path], artifacts: Path
) -> None:
    for ratio in ("9:16", "1:1", "16:9", "9:16"):
        library.import_clip(clips[ratio], f"Phone tile {ratio}")
    library.insert(library.rows(16, prompt="Phone filler {n}", status="failed", error="Timed out."))
    page.set_viewport_size(PHONE)
    page.goto("/gallery")
    expect(page.locator("video-card")).to_have_count(20)
    assert grid_columns(page) == 2
    # Nothing spills sideways, and twenty cards no longer make a page of ten screens.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.evaluate("() => document.documentElement.scrollHeight") < 6 * PHONE["height"]

    load_lazy_thumbnails(page)
    tiles = {tile["prompt"]: tile for tile in page.evaluate(TILES)}
    for prompt in ("Phone tile 9:16", "Phone tile 1:1"):
        assert tiles[prompt]["frame"] == pytest.approx(4 / 5, rel=0.02)
        assert tiles[prompt]["fit"] == "cover", prompt
        assert not tiles[prompt]["backdrop"]
    wide = tiles["Phone tile 16:9"]
    assert wide["frame"] == pytest.approx(4 / 5, rel=0.02)
    assert (wide["fit"], wide["backdrop"]) == ("contain", True)
    # The prompt is still readable on a half-width card: two lines, nothing cut sideways.
    link = page.get_by_role("link", name="Phone tile 16:9")
    assert link.evaluate("a => a.scrollWidth <= a.clientWidth + 1")

    shoot(page, artifacts, "phone-layout", full_page=False)
