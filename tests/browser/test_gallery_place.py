"""The place is kept: Load More, open a video, Back: the cards loaded, the scroll position and
keyboard focus on the card that was opened are all as they were. The video page steps to the
previous and next video in the gallery's order and filter, fetching its next page when needed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import Library, card_prompts, focused_text
from tests.browser.screens import shoot

pytestmark = pytest.mark.browser


def fill(library: Library, count: int, prompt: str = "Placed ad {n}") -> None:
    library.insert(library.rows(count, prompt=prompt, status="failed", error="Timed out."))


def test_back_after_load_more_restores_cards_scroll_and_focus(
    page: Page, library: Library, artifacts: Path
) -> None:
    fill(library, 30)
    page.goto("/gallery")
    expect(page.locator("video-card")).to_have_count(20)
    page.get_by_role("button", name="Load more").click()
    expect(page.locator("video-card")).to_have_count(30)

    opened = page.get_by_role("link", name="Placed ad 7", exact=True)
    opened.scroll_into_view_if_needed()
    scrolled = page.evaluate("() => window.scrollY")
    assert scrolled > 500
    opened.click()
    expect(page.get_by_role("heading", name="Placed ad 7")).to_be_visible()

    page.go_back()
    expect(page).to_have_url(re.compile(r"/gallery$"))
    expect(page.locator("video-card")).to_have_count(30)
    assert card_prompts(page) == [f"Placed ad {n}" for n in range(30, 0, -1)]
    assert abs(page.evaluate("() => window.scrollY") - scrolled) <= 2
    assert focused_text(page) == "Placed ad 7"
    expect(page.get_by_role("button", name="Load more")).to_be_hidden()
    # As the person sees it: where they were, the opened card's focus ring on screen.
    page.screenshot(path=artifacts / "place-restored-1440.png")


def test_the_back_link_is_the_browsers_back_and_keeps_the_place_too(
    page: Page, library: Library
) -> None:
    fill(library, 25)
    page.goto("/gallery")
    page.get_by_role("button", name="Load more").click()
    expect(page.locator("video-card")).to_have_count(25)
    page.get_by_role("link", name="Placed ad 2", exact=True).click()
    page.get_by_role("link", name="Back to your videos").click()
    expect(page.locator("video-card")).to_have_count(25)
    assert focused_text(page) == "Placed ad 2"
    # Back went back: no new entry in the history, so Forward returns to the video.
    page.go_forward()
    expect(page.get_by_role("heading", name="Placed ad 2")).to_be_visible()


def test_previous_and_next_follow_the_gallerys_filter_and_order(
    page: Page, library: Library, artifacts: Path
) -> None:
    fill(library, 3, "Harbour ad {n}")
    fill(library, 3, "Forest ad {n}")
    page.goto("/gallery?q=harbour&sort=oldest")
    expect(page.locator("video-card")).to_have_count(3)
    assert card_prompts(page) == ["Harbour ad 1", "Harbour ad 2", "Harbour ad 3"]
    page.get_by_role("link", name="Harbour ad 1", exact=True).click()
    expect(page.get_by_role("heading", name="Harbour ad 1")).to_be_visible()
    steps = page.get_by_role("navigation", name="Videos in the gallery")
    expect(steps.get_by_role("link", name="Previous video")).to_have_count(0)
    shoot(page, artifacts, "player-steps", full_page=False)

    steps.get_by_role("link", name="Next video").click()
    expect(page.get_by_role("heading", name="Harbour ad 2")).to_be_visible()
    steps.get_by_role("link", name="Next video").click()
    expect(page.get_by_role("heading", name="Harbour ad 3")).to_be_visible()
    # The last of the filter: no next, never a Forest ad.
    expect(steps.get_by_role("link", name="Next video")).to_have_count(0)
    steps.get_by_role("link", name="Previous video").click()
    expect(page.get_by_role("heading", name="Harbour ad 2")).to_be_visible()

    # Stepping replaced the entry: one Back returns to the gallery, focus on the card shown last.
    page.go_back()
    expect(page).to_have_url(re.compile(r"/gallery\?q=harbour&sort=oldest$"))
    expect(page.locator("video-card")).to_have_count(3)
    assert focused_text(page) == "Harbour ad 2"


def test_next_past_the_loaded_cards_fetches_the_galleries_next_page(
    page: Page, library: Library
) -> None:
    fill(library, 23)
    page.goto("/gallery")
    expect(page.locator("video-card")).to_have_count(20)
    # Placed ad 4 is the last card of the first page.
    page.get_by_role("link", name="Placed ad 4", exact=True).click()
    expect(page.get_by_role("heading", name="Placed ad 4")).to_be_visible()
    steps = page.get_by_role("navigation", name="Videos in the gallery")
    steps.get_by_role("link", name="Next video").click()
    expect(page.get_by_role("heading", name="Placed ad 3")).to_be_visible()
    page.go_back()
    # The page fetched for the player is part of the gallery now.
    expect(page.locator("video-card")).to_have_count(23)
    assert focused_text(page) == "Placed ad 3"


def test_a_video_opened_from_a_link_has_no_gallery_to_step_through(
    page: Page, library: Library
) -> None:
    [row] = library.insert(library.rows(1, prompt="Lonely ad", status="failed", error="x"))
    page.goto(f"/gallery/{row['id']}")
    expect(page.get_by_role("heading", name="Lonely ad")).to_be_visible()
    expect(page.get_by_role("navigation", name="Videos in the gallery")).to_be_hidden()
