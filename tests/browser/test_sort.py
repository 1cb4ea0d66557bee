"""Newest or oldest first: a choice in the filters, kept in the URL (?sort=oldest), sent to the
API as its sort parameter, kept by Load More, Back and reload."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import Library, card_prompts
from tests.browser.screens import shoot

pytestmark = pytest.mark.browser


def test_oldest_first_is_chosen_kept_in_the_url_and_pages_on(
    page: Page, library: Library, artifacts: Path
) -> None:
    library.insert(library.rows(25, prompt="Sorted ad {n}", status="failed", error="Timed out."))
    page.goto("/gallery")
    expect(page.locator("video-card")).to_have_count(20)
    sort = page.get_by_label("Sort")
    expect(sort).to_have_value("newest")
    assert card_prompts(page)[0] == "Sorted ad 25"

    sort.select_option(label="Oldest first")
    expect(page).to_have_url(re.compile(r"/gallery\?sort=oldest$"))
    expect(page.locator("video-card").first).to_contain_text("Sorted ad 1")
    assert card_prompts(page) == [f"Sorted ad {n}" for n in range(1, 21)]

    with page.expect_response(lambda answer: "cursor=" in answer.url) as listing:
        page.get_by_role("button", name="Load more").click()
    # The API's own name for the order, beside the cursor made for it.
    assert parse_qs(urlsplit(listing.value.url).query)["sort"] == ["created_at_asc"]
    expect(page.locator("video-card")).to_have_count(25)
    assert card_prompts(page)[20:] == [f"Sorted ad {n}" for n in range(21, 26)]
    shoot(page, artifacts, "sort-oldest", full_page=False)

    page.reload()
    expect(page.get_by_label("Sort")).to_have_value("oldest")
    expect(page.locator("video-card")).to_have_count(20)
    assert card_prompts(page)[0] == "Sorted ad 1"

    # Combined with a search (which refines the entry), and Back undoes the choice.
    page.get_by_label("Search prompts").fill("ad 2")
    expect(page).to_have_url(re.compile(r"/gallery\?q=ad\+2&sort=oldest$"))
    expect(page.locator("video-card").first).to_contain_text("Sorted ad 2")
    page.go_back()
    expect(page).to_have_url(re.compile(r"/gallery$"))
    expect(page.get_by_label("Sort")).to_have_value("newest")
    expect(page.locator("video-card").first).to_contain_text("Sorted ad 25")


def test_a_new_video_joins_an_oldest_first_gallery_at_its_end(
    page: Page, library: Library, clips: dict[str, Path]
) -> None:
    library.insert(library.rows(3, prompt="Early ad {n}", status="failed", error="Timed out."))
    page.goto("/gallery?sort=oldest")
    expect(page.locator("video-card")).to_have_count(3)
    library.import_clip(clips["1:1"], "Latest arrival")
    expect(page.locator("video-card")).to_have_count(4)
    assert card_prompts(page) == ["Early ad 1", "Early ad 2", "Early ad 3", "Latest arrival"]
