"""The detail page: a player that takes the video's own shape and fits the screen, what it says
about videos that cannot play, "Video not found", and failures that are shown, not swallowed.
Screenshots of each aspect ratio land in tests/artifacts/."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import sign_in
from tests.browser.helpers import Library

pytestmark = pytest.mark.browser

VIEWPORTS = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 375, "height": 812}}


@pytest.mark.parametrize("ratio", ["9:16", "16:9", "1:1"])
def test_player_takes_the_video_aspect_ratio_and_fits_the_viewport(
    new_context: Callable[..., BrowserContext],
    library: Library,
    clips: dict[str, Path],
    artifacts: Path,
    ratio: str,
) -> None:
    item = library.import_clip(clips[ratio], f"A {ratio} product teaser, studio light")
    for name, viewport in VIEWPORTS.items():
        context = new_context(viewport=viewport, is_mobile=name == "phone")
        sign_in(context, library)
        page = context.new_page()
        page.goto(f"/gallery/{item['id']}")
        video = page.locator("video-player video")
        expect(video).to_be_visible()
        video.evaluate(
            "v => v.readyState >= 1 || new Promise(r => v.addEventListener('loadedmetadata', r))"
        )
        size = video.evaluate("v => [v.videoWidth, v.videoHeight]")
        assert size == [item["width"], item["height"]]

        box = page.locator("video-player .box").bounding_box()
        assert box is not None
        # The whole player is on screen without scrolling, and it has the video's shape.
        assert box["x"] >= 0 and box["y"] >= 0
        assert box["x"] + box["width"] <= viewport["width"] + 0.5
        assert box["y"] + box["height"] <= viewport["height"] + 0.5
        assert box["width"] / box["height"] == pytest.approx(
            item["width"] / item["height"], rel=0.01
        )
        # And it is not a postage stamp: it uses the width or the height it is given.
        assert box["width"] >= 0.5 * viewport["width"] or box["height"] >= 0.5 * viewport["height"]
        assert video.evaluate("v => getComputedStyle(v).objectFit") == "contain"
        expect(page.get_by_text(f"{item['width']} × {item['height']} ({ratio})")).to_be_visible()  # noqa: RUF001
        # A first frame rather than the loading spinner, for the person looking at the picture.
        video.evaluate(
            "v => v.readyState >= 2 || new Promise(r => v.addEventListener('loadeddata', r))"
        )
        page.screenshot(path=artifacts / f"detail-{ratio.replace(':', 'x')}-{name}.png")
        context.close()


def test_unknown_malformed_and_foreign_ids_show_video_not_found(
    page: Page, library: Library, clips: dict[str, Path], server
) -> None:
    stranger = Library.register(server.base_url, server.settings.database_url)
    try:
        foreign = stranger.import_clip(clips["1:1"], "Someone else's video")
        for path in (
            f"/gallery/{uuid.uuid4()}",
            "/gallery/not-a-uuid",
            f"/gallery/{foreign['id']}",
        ):
            page.goto(path)
            expect(page.get_by_role("heading", name="Video not found")).to_be_visible()
            expect(page.get_by_text("Someone else's video")).to_have_count(0)
            expect(page.locator("video-player video")).to_have_count(1)  # present, never shown
            expect(page.locator("video-player")).to_be_hidden()
        page.get_by_role("link", name="Go to your videos").click()
        expect(page).to_have_url(re.compile(r"/gallery$"))
        assert stranger.item(foreign["id"]).status_code == 200
    finally:
        stranger.close()


def test_videos_that_cannot_play_say_why_and_in_flight_ones_show_progress(
    page: Page, library: Library
) -> None:
    missing, failed, processing = library.insert(
        [
            library.row(
                prompt="Completed but gone",
                status="completed",
                progress=None,
                video_path="videos/vanished.mp4",
                width=640,
                height=360,
            ),
            library.row(prompt="It failed", status="failed", error="The model ran out of credits."),
            library.row(prompt="Still cooking", status="processing", progress=30),
        ]
    )
    page.goto(f"/gallery/{missing['id']}")
    expect(page.get_by_role("heading", name="Completed but gone")).to_be_visible()
    expect(page.locator("status-badge")).to_have_text("File missing")
    expect(page.get_by_role("link", name="Download")).to_be_hidden()
    expect(page.locator("video-player")).to_be_hidden()
    expect(page.get_by_role("button", name="Delete")).to_be_visible()

    page.goto(f"/gallery/{failed['id']}")
    expect(page.get_by_text("The model ran out of credits.")).to_be_visible()
    expect(page.locator("status-badge")).to_have_text("Failed")

    page.goto(f"/gallery/{processing['id']}")
    expect(page.get_by_text("Being generated: 30% done.")).to_be_visible()
    expect(page.locator(".placeholder progress")).to_have_js_property("value", 30)
    # It moves with live events, no polling: tests/browser/test_live_generations.py.
    expect(page.get_by_role("button", name="Cancel generation")).to_be_visible()


def test_a_failed_delete_is_shown_and_nothing_is_lost(
    page: Page, library: Library, clips: dict[str, Path]
) -> None:
    item = library.import_clip(clips["16:9"], "Undeletable today")
    page.goto(f"/gallery/{item['id']}")
    page.route(
        f"**/api/generations/{item['id']}",
        lambda route: (
            route.fulfill(
                status=500,
                json={
                    "status_code": 500,
                    "detail": "The video could not be deleted; nothing was changed",
                },
            )
            if route.request.method == "DELETE"
            else route.fallback()
        ),
    )
    page.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "The video could not be deleted; nothing was changed."
    )
    expect(page).to_have_url(re.compile(f"/gallery/{item['id']}$"))
    expect(page.get_by_role("button", name="Delete")).to_be_enabled()
    assert library.item(item["id"]).status_code == 200
