"""The gallery grid: columns per viewport, paging with Load More, filter and search kept in the
URL, what each card says, thumbnails without layout shift, loading and failure states."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

from tests.browser.conftest import sign_in
from tests.browser.helpers import Library, card_prompts, grid_columns

pytestmark = pytest.mark.browser

MISSING_FILE = {"status": "completed", "progress": None, "video_path": "videos/gone.mp4"}


def failed_rows(library: Library, count: int, prompt: str, **fields: object) -> list[dict]:
    return library.rows(count, prompt=prompt, status="failed", error="Timed out.", **fields)


def test_grid_has_two_columns_on_phones_two_or_three_on_tablets_four_or_more_on_desktops(
    page: Page, library: Library
) -> None:
    library.insert(failed_rows(library, 12, "Grid filler {n}"))
    columns = {}
    for width in (375, 800, 1440):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto("/gallery")
        expect(page.locator("video-card")).to_have_count(12)
        columns[width] = grid_columns(page)
        # Nothing spills sideways: no horizontal scrolling at any width.
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    assert columns[375] == 2
    assert columns[800] in (2, 3)
    assert columns[1440] >= 4


def test_load_more_shows_20_then_5_then_disappears(page: Page, library: Library) -> None:
    library.insert(failed_rows(library, 25, "Numbered ad {n}"))
    page.goto("/gallery")
    expect(page.locator("video-card")).to_have_count(20)
    expect(page.get_by_text("Showing 20 of 25 videos")).to_be_visible()
    assert card_prompts(page) == [f"Numbered ad {n}" for n in range(25, 5, -1)]

    more = page.get_by_role("button", name="Load more")
    more.click()
    expect(page.locator("video-card")).to_have_count(25)
    expect(more).to_be_hidden()
    expect(page.get_by_text("25 videos", exact=True)).to_be_visible()
    assert card_prompts(page) == [f"Numbered ad {n}" for n in range(25, 0, -1)]


def test_videos_imported_before_load_more_neither_repeat_a_card_nor_hide_one(
    page: Page, library: Library, clips: dict[str, Path]
) -> None:
    older = library.insert(
        failed_rows(library, 25, "Older ad {n}", start=datetime(2025, 1, 1, tzinfo=UTC))
    )
    page.goto("/gallery")
    expect(page.locator("video-card")).to_have_count(20)
    assert card_prompts(page) == [f"Older ad {n}" for n in range(25, 5, -1)]

    # Three videos arrive while page 1 is on screen. Paging by offset would now start three
    # items early and show Older ad 8, 7 and 6 again.
    for ratio, clip in clips.items():
        library.import_clip(clip, f"Fresh import {ratio}")
    # They show at once, at the top, through the live events.
    fresh = [f"Fresh import {ratio}" for ratio in reversed(clips)]
    expect(page.locator("video-card")).to_have_count(23)
    assert card_prompts(page)[:4] == [*fresh, "Older ad 25"]

    with page.expect_response(lambda response: "/api/generations?" in response.url) as listing:
        page.get_by_role("button", name="Load more").click()
    asked = parse_qs(urlsplit(listing.value.url).query)
    assert asked.get("cursor") and "offset" not in asked
    answer = listing.value.json()
    assert [item["prompt"] for item in answer["generations"]] == [
        f"Older ad {n}" for n in range(5, 0, -1)
    ]
    assert answer["next_cursor"] is None

    expect(page.locator("video-card")).to_have_count(28)
    assert card_prompts(page) == [*fresh, *(f"Older ad {n}" for n in range(25, 0, -1))]
    shown = page.locator("video-card").evaluate_all("cards => cards.map((c) => c.dataset.id)")
    assert sorted(shown[3:]) == sorted(str(row["id"]) for row in older)
    expect(page.get_by_role("button", name="Load more")).to_be_hidden()

    # The newcomers were not lost: the first page shows them now, newest first.
    page.reload()
    expect(page.locator("video-card")).to_have_count(20)
    assert card_prompts(page)[:4] == [
        *(f"Fresh import {ratio}" for ratio in reversed(clips)),
        "Older ad 25",
    ]


def test_videos_deleted_before_load_more_make_no_card_go_missing(
    page: Page, library: Library
) -> None:
    older = library.insert(failed_rows(library, 25, "Older ad {n}"))
    page.goto("/gallery")
    expect(page.locator("video-card")).to_have_count(20)
    # The first page may be asked for before the live stream opens (it starts beside `me`);
    # the cards count as live once they include everything up to the stream's opening.
    expect(page.locator("gallery-page[data-live]")).to_have_count(1)

    # Three of the cards on screen are deleted elsewhere (another tab, a script). Paging by
    # offset would now skip Older ad 5, 4 and 3.
    for row in older[-3:]:
        assert library.http.delete(f"/api/generations/{row['id']}").status_code == 200
    # Their cards go at once, through the live events.
    expect(page.locator("video-card")).to_have_count(17)

    page.get_by_role("button", name="Load more").click()
    expect(page.locator("video-card")).to_have_count(22)
    assert card_prompts(page)[-5:] == [f"Older ad {n}" for n in range(5, 0, -1)]
    expect(page.get_by_role("button", name="Load more")).to_be_hidden()


def test_filter_and_search_are_kept_after_load_more_reload_back_and_forward(
    page: Page, library: Library
) -> None:
    library.insert(failed_rows(library, 23, "Ocean spray ad {n}"))
    library.insert(failed_rows(library, 8, "Forest hike ad {n}"))
    library.insert(library.rows(6, prompt="Ocean liner ad {n}", **MISSING_FILE))

    def expect_ocean_failures(count: int) -> None:
        expect(page.locator("video-card")).to_have_count(count)
        assert all(prompt.startswith("Ocean spray ad") for prompt in card_prompts(page))
        badges = page.locator("video-card status-badge")
        assert set(badges.evaluate_all("all => all.map(b => b.getAttribute('status'))")) == {
            "failed"
        }

    def expect_fields(status: str, q: str) -> None:
        expect(page.get_by_label("Status")).to_have_value(status)
        expect(page.get_by_label("Search prompts")).to_have_value(q)

    page.goto("/gallery")
    expect(page.get_by_text("Showing 20 of 37 videos")).to_be_visible()
    page.get_by_label("Status").select_option("failed")
    expect(page).to_have_url(re.compile(r"/gallery\?status=failed$"))
    expect(page.get_by_text("Showing 20 of 31 videos")).to_be_visible()
    page.get_by_label("Search prompts").fill("OCEAN")
    expect(page).to_have_url(re.compile(r"/gallery\?status=failed&q=OCEAN$"))
    expect(page.get_by_text("Showing 20 of 23 videos")).to_be_visible()
    expect_ocean_failures(20)

    page.get_by_role("button", name="Load more").click()
    expect_ocean_failures(23)
    expect(page).to_have_url(re.compile(r"/gallery\?status=failed&q=OCEAN$"))
    expect(page.get_by_role("button", name="Load more")).to_be_hidden()

    page.reload()
    expect_fields("failed", "OCEAN")
    expect_ocean_failures(20)
    page.get_by_role("button", name="Load more").click()
    expect_ocean_failures(23)

    # Open a video and come back: still filtered, and the cards loaded are still there.
    page.get_by_role("link", name="Ocean spray ad 1", exact=True).click()
    expect(page).to_have_url(re.compile(r"/gallery/[0-9a-f-]{36}$"))
    page.go_back()
    expect(page).to_have_url(re.compile(r"/gallery\?status=failed&q=OCEAN$"))
    expect_fields("failed", "OCEAN")
    expect_ocean_failures(23)

    # The entry before the filter was the whole library; forward brings the filter back.
    page.go_back()
    expect(page).to_have_url(re.compile(r"/gallery$"))
    expect_fields("", "")
    expect(page.get_by_text("Showing 20 of 37 videos")).to_be_visible()
    page.go_forward()
    expect_fields("failed", "OCEAN")
    expect_ocean_failures(20)


def test_search_waits_for_a_300ms_pause_in_typing(page: Page, library: Library) -> None:
    library.insert(failed_rows(library, 3, "Quiet harbour {n}"))
    library.insert(failed_rows(library, 2, "Loud street {n}"))
    page.goto("/gallery")
    expect(page.locator("video-card")).to_have_count(5)
    search = page.get_by_label("Search prompts")
    search.evaluate(
        "input => input.addEventListener('input', () => { window.__typed = performance.now(); })"
    )
    search.press_sequentially("harbour", delay=40)
    expect(page).to_have_url(re.compile(r"\?q=harbour$"))
    expect(page.locator("video-card")).to_have_count(3)
    # Timers only ever fire late, so these timings hold however busy the machine is.
    timing = page.evaluate(
        """() => ({
          lastKey: window.__typed,
          searches: performance.getEntriesByType('resource')
            .filter((entry) => /\\/api\\/generations\\?.*q=/.test(entry.name))
            .map((entry) => ({ url: entry.name, start: entry.startTime })),
        })"""
    )
    assert [search["url"].split("q=")[1] for search in timing["searches"]] == ["harbour"]
    assert timing["searches"][0]["start"] - timing["lastKey"] >= 300 - 1


def test_cards_show_badge_prompt_cost_date_progress_and_problems_in_the_person_locale(
    new_context: Callable[..., BrowserContext], library: Library
) -> None:
    created = datetime(2025, 11, 14, 10, 30, tzinfo=UTC)
    long_prompt = "An extremely long prompt about a product launch " * 12
    library.insert(
        [
            library.row(prompt="Missing file ad", cost=1.87, created_at=created, **MISSING_FILE),
            library.row(prompt="Failed ad", status="failed", error="The model timed out."),
            library.row(prompt="Processing ad", status="processing", progress=40),
            library.row(prompt="Pending ad", status="pending", progress=0),
            library.row(prompt=long_prompt, status="failed", error="Too long to render."),
        ]
    )
    context = new_context(locale="de-DE", timezone_id="Europe/Berlin")
    sign_in(context, library)
    page = context.new_page()
    page.goto("/gallery")
    expect(page.locator("video-card")).to_have_count(5)

    def card(prompt: str):
        return page.locator("video-card").filter(has=page.get_by_role("link", name=prompt))

    missing_card = card("Missing file ad")
    expect(missing_card.locator("status-badge")).to_have_text("File missing")
    expect(missing_card.locator(".problem")).to_be_hidden()
    expect(missing_card.locator(".cost")).to_have_text(re.compile(r"^1,87\s\$$"))
    expect(missing_card.locator("time")).to_have_text("14.11.2025, 11:30")
    expect(missing_card.locator("time")).to_have_attribute("datetime", re.compile("^2025-11-14"))

    expect(card("Failed ad").locator("status-badge")).to_have_text("Failed")
    expect(card("Failed ad").locator(".problem")).to_have_text("The model timed out.")
    expect(card("Processing ad").locator("status-badge")).to_have_text("Processing")
    expect(card("Processing ad").locator("progress")).to_have_js_property("value", 40)
    expect(card("Processing ad").locator(".progress")).to_contain_text("40% done")
    expect(card("Pending ad").locator(".progress")).to_contain_text("Queued")

    # The prompt is clamped to two lines.
    heading = page.locator("video-card h2").filter(has_text="An extremely long prompt").first
    lines = heading.evaluate(
        "h => h.getBoundingClientRect().height / parseFloat(getComputedStyle(h).lineHeight)"
    )
    assert lines == pytest.approx(2, abs=0.1)
    assert heading.evaluate("h => h.scrollHeight > h.clientHeight")

    # Cards follow live events, no polling: tests/browser/test_live_generations.py.


def test_thumbnails_are_lazy_keep_their_aspect_ratio_and_shift_nothing(
    page: Page, library: Library, clips: dict[str, Path]
) -> None:
    imported = {ratio: library.import_clip(clip, f"Clip {ratio}") for ratio, clip in clips.items()}
    held: list[Route] = []
    page.route("**/api/thumbnail/**", lambda route: held.append(route))
    page.goto("/gallery")
    expect(page.locator("video-card")).to_have_count(3)
    images = page.locator("video-card img.picture")
    expect(images).to_have_count(3)

    def boxes() -> list[dict]:
        return page.locator("video-card").evaluate_all(
            "cards => cards.map(c => c.getBoundingClientRect().toJSON())"
        )

    before = boxes()
    page.evaluate(
        """() => {
          window.__shift = 0;
          new PerformanceObserver((list) => {
            for (const entry of list.getEntries()) window.__shift += entry.value;
          }).observe({ type: 'layout-shift' });
        }"""
    )
    assert len(held) >= 1
    for route in held:
        route.continue_()
    page.unroute("**/api/thumbnail/**")
    page.wait_for_function(
        """() => {
          const gallery = document.querySelector('gallery-page').shadowRoot;
          return [...gallery.querySelectorAll('video-card')].every((card) => {
            const img = card.shadowRoot.querySelector('img.picture');
            return img.complete && img.naturalWidth > 0;
          });
        }"""
    )
    page.wait_for_timeout(100)
    assert boxes() == before
    assert page.evaluate("() => window.__shift") == 0

    for ratio, item in imported.items():
        img = page.locator("video-card").filter(has_text=f"Clip {ratio}").locator("img.picture")
        # The API's URL exactly as given, version and all.
        expect(img).to_have_attribute("src", item["thumbnail_url"])
        expect(img).to_have_attribute("loading", "lazy")
        # Decorative: the card's link names the video, once.
        expect(img).to_have_attribute("alt", "")
        expect(img).to_have_attribute("width", str(item["width"]))
        expect(img).to_have_attribute("height", str(item["height"]))
        natural = img.evaluate("i => i.naturalWidth / i.naturalHeight")
        assert natural == pytest.approx(item["width"] / item["height"], rel=0.02)
        # Tall and square videos fill their tile; a wide one is shown whole.
        fit = "contain" if ratio == "16:9" else "cover"
        assert img.evaluate("i => getComputedStyle(i).objectFit") == fit


def test_skeletons_while_loading_then_no_videos_found(page: Page, library: Library) -> None:
    held: list[Route] = []
    page.route("**/api/generations?*", lambda route: held.append(route))
    page.goto("/gallery")
    expect(page.locator("skeleton-card")).to_have_count(8)
    expect(page.locator("#grid")).to_have_attribute("aria-busy", "true")
    for route in held:
        route.continue_()
    page.unroute("**/api/generations?*")
    expect(page.get_by_role("heading", name="No videos found")).to_be_visible()
    expect(page.locator("skeleton-card")).to_have_count(0)
    expect(page.get_by_role("button", name="Load more")).to_be_hidden()

    library.insert(failed_rows(library, 2, "Mountain bike ad {n}"))
    page.reload()
    expect(page.locator("video-card")).to_have_count(2)
    page.get_by_label("Search prompts").fill("submarine")
    expect(page.get_by_role("heading", name="No videos found")).to_be_visible()
    expect(page.get_by_text("Nothing matches this filter and search.")).to_be_visible()
    expect(page.locator("video-card")).to_have_count(0)


def test_api_going_away_shows_the_error_and_retry_recovers(page: Page, library: Library) -> None:
    library.insert(failed_rows(library, 25, "Resilient ad {n}"))
    page.goto("/gallery")
    expect(page.locator("video-card")).to_have_count(20)

    # The network drops: Load More fails, the cards stay, the error offers Retry.
    page.route("**/api/**", lambda route: route.abort("internetdisconnected"))
    page.get_by_role("button", name="Load more").click()
    error = page.get_by_role("alert").filter(has_text="could not be reached")
    expect(error).to_be_visible()
    expect(error).to_contain_text("More videos could not be loaded.")
    expect(page.get_by_role("button", name="Load more")).to_be_hidden()
    expect(page.locator("video-card")).to_have_count(20)
    page.unroute("**/api/**")
    page.get_by_role("button", name="Retry").click()
    expect(page.locator("video-card")).to_have_count(25)
    expect(error).to_be_hidden()

    # The server fails: a new search shows the error in place of the grid; Retry recovers.
    page.route(
        "**/api/generations?*",
        lambda route: route.fulfill(
            status=503,
            json={"status_code": 503, "detail": "Service Unavailable"},
        ),
    )
    page.get_by_label("Status").select_option("failed")
    expect(page.get_by_role("alert")).to_contain_text("error 503")
    expect(page.locator("video-card")).to_have_count(0)
    expect(page.get_by_role("heading", name="No videos found")).to_be_hidden()
    page.unroute("**/api/generations?*")
    page.get_by_role("button", name="Retry").click()
    expect(page.locator("video-card")).to_have_count(20)
    expect(page.get_by_text("Showing 20 of 25 videos")).to_be_visible()
