"""The spec's end-to-end journey in a real browser: register, sign in, import a clip through the
form, find it with the filter and the search, play it, seek it, download it, delete it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, Response, expect

from tests.browser.helpers import Library, card_prompts
from tests.support.factories import PASSWORD

pytestmark = pytest.mark.browser

HERO = "Lighthouse hero cut: waves at golden hour, slow push-in"
TEASER = "Sneaker drop teaser, vertical, neon rain"
FAILED = "Lighthouse drone flyover at night, 8K"
QUESTION = "Are you sure you want to delete this video? This action cannot be undone."


def player_video(page: Page):
    return page.locator("video-player video")


def test_whole_journey(
    new_context: Callable[..., BrowserContext],
    library: Library,
    clips: dict[str, Path],
    long_clip: Path,
    tmp_path: Path,
) -> None:
    page = new_context().new_page()

    # Signed out, the gallery asks to sign in first; a new person creates an account.
    page.goto("/gallery")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fgallery$"))
    page.get_by_role("button", name="Create an account").click()
    expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
    email = f"journey-{uuid.uuid4().hex[:10]}@example.com"
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/gallery$"))
    expect(page.get_by_text("Your account is ready.")).to_be_visible()
    expect(page.locator("site-header")).to_contain_text(email)
    expect(page.get_by_role("heading", name="No videos found")).to_be_visible()

    # Sign out, then sign in again with the new account.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/gallery$"))
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    token = cookies["reelvault_token"]
    assert token["httpOnly"] and token["sameSite"] == "Strict"

    # Other videos of this person, so that the filter and the search have work to do.
    person = library.for_token(token["value"])
    person.import_clip(clips["9:16"], TEASER)
    person.insert([person.row(prompt=FAILED, status="failed", error="The model timed out.")])

    # Import the clip through the form.
    page.get_by_role("button", name="Import video").click()
    page.get_by_label("Video files").set_input_files(long_clip)
    page.get_by_label(f"Prompt for {long_clip.name}").fill(HERO)
    page.get_by_role("button", name="Import video").click()
    expect(page.get_by_role("region", name="Uploads")).to_contain_text("Imported")
    expect(page.locator("video-card")).to_have_count(3)
    assert card_prompts(page)[0] == HERO

    # Search, then narrow by status: both end up in the URL and in the grid.
    page.get_by_label("Search prompts").fill("lighthouse")
    expect(page).to_have_url(re.compile(r"/gallery\?q=lighthouse$"))
    expect(page.locator("video-card")).to_have_count(2)
    assert sorted(card_prompts(page)) == sorted([HERO, FAILED])
    page.get_by_label("Status").select_option("completed")
    expect(page).to_have_url(re.compile(r"/gallery\?status=completed&q=lighthouse$"))
    expect(page.locator("video-card")).to_have_count(1)
    assert card_prompts(page) == [HERO]

    # Open it.
    page.get_by_role("link", name=HERO).click()
    expect(page).to_have_url(re.compile(r"/gallery/[0-9a-f-]{36}$"))
    generation_id = page.url.rsplit("/", 1)[1]
    expect(page.get_by_role("heading", name=HERO)).to_be_visible()
    # The player and the download use the API's (versioned) URL exactly as given.
    video_url = person.item(generation_id).json()["video_url"]
    video = player_video(page)
    expect(video).to_have_attribute("src", video_url)
    expect(page.get_by_role("link", name="Download")).to_have_attribute("href", video_url)
    expect(video).to_have_attribute("preload", "metadata")
    expect(video).to_have_attribute("controls", "")
    video.evaluate(
        "v => v.readyState >= 1 || new Promise(r => v.addEventListener('loadedmetadata', r))"
    )
    assert video.evaluate("v => [v.videoWidth, v.videoHeight]") == [1280, 720]

    # Seek to the middle: the browser asks for a later range and gets a 206.
    ranges: list[Response] = []
    page.on(
        "response",
        lambda response: (
            ranges.append(response)
            if response.url == f"{person.base_url}{video_url}" and response.status == 206
            else None
        ),
    )
    middle = video.evaluate(
        """v => new Promise((resolve) => {
          v.addEventListener('seeked', () => resolve(v.currentTime), { once: true });
          v.currentTime = v.duration / 2;
        })"""
    )
    assert middle == pytest.approx(15, abs=0.5)
    page.wait_for_timeout(200)
    later = [r for r in ranges if not r.headers["content-range"].startswith("bytes 0-")]
    assert later, [r.headers.get("content-range") for r in ranges]
    start, end, size = map(int, re.findall(r"\d+", later[0].headers["content-range"]))
    assert 0 < start <= end == size - 1
    assert size == long_clip.stat().st_size

    # It plays: time moves on from the middle.
    assert video.evaluate("v => v.play().then(() => true)") is True
    page.wait_for_function("v => v.currentTime > 16", arg=video.element_handle(), timeout=10_000)
    video.evaluate("v => v.pause()")

    # Download saves ad_{id}.mp4, byte for byte the served file.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download").click()
    download = download_info.value
    assert download.suggested_filename == f"ad_{generation_id}.mp4"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.read_bytes() == person.video_bytes(generation_id) == long_clip.read_bytes()

    # Delete asks first; Cancel keeps the video.
    page.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#question")).to_have_text(QUESTION)
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(page).to_have_url(re.compile(f"/gallery/{generation_id}$"))
    assert person.item(generation_id).status_code == 200

    # Confirm deletes it and returns to the gallery (as it was left) with the message.
    page.get_by_role("button", name="Delete").click()
    dialog.get_by_role("button", name="Delete").click()
    expect(page).to_have_url(re.compile(r"/gallery\?status=completed&q=lighthouse$"))
    expect(page.get_by_role("status").filter(has_text="Video deleted")).to_be_visible()
    expect(page.get_by_role("heading", name="No videos found")).to_be_visible()
    assert person.item(generation_id).status_code == 404
