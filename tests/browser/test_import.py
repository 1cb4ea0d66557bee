"""Importing a video through the form: a progress bar while it uploads, and the API's refusals
(415, 413, 422) in words a person understands."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import MAX_UPLOAD_BYTES
from tests.browser.helpers import Library, card_prompts

pytestmark = pytest.mark.browser

UPLOAD_BYTES_PER_SECOND = 1_000_000


def open_import(page: Page) -> None:
    page.goto("/gallery")
    expect(page.get_by_role("heading", name="No videos found")).to_be_visible()
    page.get_by_role("button", name="Import video").click()
    expect(page.get_by_role("region", name="Import a video")).to_be_visible()
    expect(page.get_by_label("Prompt", exact=True)).to_be_focused()


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
    page.get_by_label("Prompt", exact=True).fill("Slow upload: harbour at dawn")
    page.get_by_label("Video file").set_input_files(long_clip)
    # Record every value the bar shows, from inside the page.
    page.evaluate(
        """() => {
          const gallery = document.querySelector('gallery-page').shadowRoot;
          const form = gallery.querySelector('import-form');
          const bar = form.shadowRoot.getElementById('bar');
          window.__progress = [];
          new MutationObserver(() => window.__progress.push(bar.value))
            .observe(form.shadowRoot, { subtree: true, attributes: true, characterData: true,
                                        childList: true });
        }"""
    )
    submit(page)
    label = page.get_by_text(re.compile(r"^Uploading… \d+%$"))
    expect(label).to_be_visible()
    expect(page.get_by_role("button", name="Cancel upload")).to_be_visible()
    expect(page.get_by_role("button", name="Import video", exact=True)).to_be_disabled()
    expect(page.get_by_text("Video imported: Slow upload: harbour at dawn")).to_be_visible(
        timeout=20_000
    )
    seen = page.evaluate("() => window.__progress")
    assert any(0 < value < 100 for value in seen), seen
    # It only ever moves forward, reaches 100, and the form is reset once the import is done.
    rising = seen[: seen.index(100) + 1]
    assert rising == sorted(rising)
    assert seen[-1] == 0
    assert card_prompts(page) == ["Slow upload: harbour at dawn"]
    expect(page.get_by_role("region", name="Import a video")).to_be_hidden()


def test_refusals_from_the_api_are_explained(
    page: Page, library: Library, clips: dict[str, Path], tmp_path: Path
) -> None:
    open_import(page)
    prompt = page.get_by_label("Prompt", exact=True)
    file_input = page.get_by_label("Video file")

    # Nothing chosen: said before anything is sent.
    prompt.fill("No file yet")
    submit(page)
    expect(page.locator("import-form #file-error")).to_have_text("Choose a video file to import.")

    # 415: not a video.
    notes = tmp_path / "notes.mp4"
    notes.write_text("meeting notes, definitely not a video\n" * 50)
    file_input.set_input_files(notes)
    submit(page)
    expect(page.locator("import-form #file-error")).to_have_text(
        "This file is not a video that can be played. Choose an MP4, MOV, WebM or MKV video."
    )
    expect(file_input).to_have_attribute("aria-invalid", "true")

    # 413: over the configured maximum.
    big = tmp_path / "huge.mp4"
    big.write_bytes(clips["16:9"].read_bytes() + bytes(MAX_UPLOAD_BYTES))
    file_input.set_input_files(big)
    submit(page)
    expect(page.locator("import-form #file-error")).to_have_text(
        "This file is too large to import. Choose a smaller video file."
    )

    # 422: the prompt is missing.
    prompt.fill("   ")
    file_input.set_input_files(clips["16:9"])
    submit(page)
    expect(page.locator("import-form #prompt-error")).to_have_text(
        "Write the prompt the video was generated from."
    )
    expect(prompt).to_be_focused()
    expect(page.locator("import-form #file-error")).to_have_text("")

    # Nothing was imported by any of these.
    expect(page.get_by_role("heading", name="No videos found")).to_be_visible()
    assert library.http.get("/api/generations").json()["total"] == 0


def test_importing_while_filtered_clears_the_filters_to_show_the_new_video(
    page: Page, library: Library, clips: dict[str, Path]
) -> None:
    library.insert(library.rows(2, prompt="Old failure {n}", status="failed", error="x"))
    page.goto("/gallery?status=failed&q=old")
    expect(page.locator("video-card")).to_have_count(2)
    page.get_by_role("button", name="Import video").click()
    page.get_by_label("Prompt", exact=True).fill("Fresh square clip")
    page.get_by_label("Video file").set_input_files(clips["1:1"])
    submit(page)
    expect(page).to_have_url(re.compile(r"/gallery$"))
    expect(
        page.get_by_role("status").filter(has_text="Video imported: Fresh square clip")
    ).to_be_visible()
    expect(page.locator("video-card")).to_have_count(3)
    assert card_prompts(page)[0] == "Fresh square clip"
    expect(page.get_by_label("Status")).to_have_value("")
