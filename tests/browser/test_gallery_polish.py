"""The smaller things a person notices: pages titled by their video, "No videos found" said
once with a way to clear the filters, a dash for a duration not known yet, empty sign-in fields
caught before any request, messages that end with a full stop, and what a screen reader hears
of a card: the prompt once, the duration in words."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, Request, expect

from tests.browser.helpers import Library
from tests.browser.screens import shoot

pytestmark = pytest.mark.browser

LONG_PROMPT = (
    "Sneaker launch: neon city at night, rain reflections, slow-motion splash and a crowd "
    "cheering at the finish line"
)


def test_a_video_page_is_titled_with_its_prompt_clipped(page: Page, library: Library) -> None:
    [row] = library.insert([library.row(prompt=LONG_PROMPT, status="failed", error="x")])
    page.goto(f"/gallery/{row['id']}")
    expect(page.get_by_role("heading", name=LONG_PROMPT)).to_be_visible()
    expect(page).to_have_title("Sneaker launch: neon city at night, rain reflections… · reelvault")
    page.goto("/gallery/00000000-0000-0000-0000-000000000000")
    expect(page).to_have_title("Video not found · reelvault")


def test_no_results_says_so_once_and_offers_clear_filters(
    page: Page, library: Library, artifacts: Path
) -> None:
    library.insert(library.rows(2, prompt="Mountain bike ad {n}", status="failed", error="x"))
    page.goto("/gallery?status=failed&q=submarine&sort=oldest")
    expect(page.get_by_role("heading", name="No videos found")).to_be_visible()
    expect(page.get_by_text("No videos found")).to_have_count(1)
    shoot(page, artifacts, "no-results", full_page=False)
    page.get_by_role("button", name="Clear filters").click()
    # The order is not a filter: it stays.
    expect(page).to_have_url(f"{library.base_url}/gallery?sort=oldest")
    expect(page.locator("video-card")).to_have_count(2)
    expect(page.get_by_label("Search prompts")).to_have_value("")
    expect(page.get_by_label("Status")).to_have_value("")


def test_an_empty_library_has_nothing_to_clear(page: Page, library: Library) -> None:
    page.goto("/gallery")
    expect(page.get_by_role("heading", name="No videos found")).to_be_visible()
    expect(page.get_by_role("button", name="Clear filters")).to_have_count(0)


def test_an_unfinished_video_shows_a_dash_for_its_duration(page: Page, library: Library) -> None:
    [row] = library.insert(
        [library.row(prompt="Still waiting", status="pending", progress=0, duration=0)]
    )
    page.goto(f"/gallery/{row['id']}")
    expect(page.get_by_role("heading", name="Still waiting")).to_be_visible()
    duration = page.locator("dd").first
    expect(duration).to_contain_text("—")
    expect(duration).not_to_contain_text("0:00")


def test_signing_in_with_empty_fields_asks_no_server(
    new_context: Callable[..., BrowserContext],
) -> None:
    page = new_context().new_page()
    sent: list[Request] = []
    page.on(
        "request", lambda request: sent.append(request) if "/api/auth/" in request.url else None
    )
    page.goto("/login")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    sent.clear()  # the start-up's `me`
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Enter your e-mail address.")).to_be_visible()
    expect(page.get_by_text("Enter your password.")).to_be_visible()
    expect(page.get_by_label("E-mail")).to_be_focused()
    page.get_by_label("E-mail").fill("someone@example.com")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Enter your e-mail address.")).to_have_count(0)
    expect(page.get_by_label("Password")).to_be_focused()
    assert [request.url for request in sent if request.method == "POST"] == []


def heard_names(snapshot: str, prompt: str) -> int:
    """How many nodes of an ARIA snapshot carry `prompt`; a heading that only wraps the link
    is not heard apart from it."""
    lines = [line for line in snapshot.splitlines() if "- heading " not in line]
    return sum(line.count(prompt) for line in lines)


def test_a_card_says_its_prompt_once_and_its_duration_in_words(
    page: Page, library: Library, clips: dict[str, Path]
) -> None:
    library.import_clip(clips["1:1"], "Cold brew pour")
    library.insert([library.row(prompt="Queued teaser", status="processing", progress=40)])
    page.goto("/gallery")
    card = page.locator("video-card").filter(has=page.get_by_role("link", name="Cold brew pour"))
    expect(card.locator("img.picture")).to_be_visible()
    heard = card.aria_snapshot()
    assert heard_names(heard, "Cold brew pour") == 1, heard
    assert "Duration: 3 seconds" in heard
    assert "0:03" not in heard
    busy = page.locator("video-card").filter(has=page.get_by_role("link", name="Queued teaser"))
    assert heard_names(busy.aria_snapshot(), "Queued teaser") == 1


def test_messages_end_with_a_full_stop(page: Page, library: Library) -> None:
    [row] = library.insert([library.row(prompt="Doomed ad", status="failed", error="Timed out")])
    page.goto(f"/gallery/{row['id']}")
    expect(page.get_by_text("Timed out.", exact=True)).to_be_visible()
    page.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.get_by_role("status").filter(has_text="Video deleted.")).to_be_visible()
