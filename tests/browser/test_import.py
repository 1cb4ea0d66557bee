"""Importing a video through the form: the upload queue's progress bar moves until the video
is in the gallery, and an import made while the gallery is filtered clears the filters. (The
checks before sending and the refusals are in test_upload_queue.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import Library, card_prompts

pytestmark = pytest.mark.browser

UPLOAD_BYTES_PER_SECOND = 1_000_000


def open_import(page: Page) -> None:
    page.goto("/gallery")
    expect(page.get_by_role("heading", name="No videos found")).to_be_visible()
    page.get_by_role("button", name="Import video").click()
    expect(page.get_by_role("region", name="Import a video")).to_be_visible()
    expect(page.get_by_label("Video files")).to_be_focused()


def submit(page: Page) -> None:
    page.get_by_role("button", name="Import video", exact=True).click()


def test_upload_progress_is_shown_until_the_video_is_in_the_gallery(
    page: Page, library: Library, long_clip: Path
) -> None:
    open_import(page)
    # Slow the upload down so that the progress bar has time to move.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 0,
            "downloadThroughput": -1,
            "uploadThroughput": UPLOAD_BYTES_PER_SECOND,
        },
    )
    page.get_by_label("Video files").set_input_files(long_clip)
    page.get_by_label(f"Prompt for {long_clip.name}").fill("Slow upload: harbour at dawn")
    # Record every value the queue's bar shows, from inside the page.
    page.evaluate(
        """() => {
          const queue = document.querySelector('upload-queue').shadowRoot;
          window.__progress = [];
          new MutationObserver(() => {
            const bar = queue.querySelector('progress');
            if (bar && !bar.hidden) window.__progress.push(bar.value);
          }).observe(queue, { subtree: true, attributes: true, characterData: true,
                              childList: true });
        }"""
    )
    submit(page)
    row = page.get_by_role("region", name="Uploads").get_by_role("listitem")
    expect(row.get_by_text(re.compile(r"^Uploading… \d+%$"))).to_be_visible()
    expect(row.get_by_role("button", name=f"Cancel upload of {long_clip.name}")).to_be_visible()
    # The form is free for the next files at once.
    expect(page.get_by_role("region", name="Import a video")).to_be_hidden()
    expect(row).to_contain_text("Imported", timeout=20_000)
    seen = page.evaluate("() => window.__progress")
    assert any(0 < value < 100 for value in seen), seen
    # It only ever moves forward and reaches 100.
    assert seen == sorted(seen)
    assert seen[-1] == 100
    expect(page.locator("live-announcer")).to_contain_text(
        "Video imported: Slow upload: harbour at dawn"
    )
    assert card_prompts(page) == ["Slow upload: harbour at dawn"]


def test_importing_while_filtered_clears_the_filters_to_show_the_new_video(
    page: Page, library: Library, clips: dict[str, Path]
) -> None:
    library.insert(library.rows(2, prompt="Old failure {n}", status="failed", error="x"))
    page.goto("/gallery?status=failed&q=old")
    expect(page.locator("video-card")).to_have_count(2)
    page.get_by_role("button", name="Import video").click()
    page.get_by_label("Video files").set_input_files(clips["1:1"])
    page.get_by_label("Prompt for clip_480x480.mp4").fill("Fresh square clip")
    submit(page)
    expect(page).to_have_url(re.compile(r"/gallery$"))
    expect(page.get_by_role("region", name="Uploads")).to_contain_text("Imported")
    expect(page.locator("video-card")).to_have_count(3)
    assert card_prompts(page)[0] == "Fresh square clip"
    expect(page.get_by_label("Status")).to_have_value("")
