"""The player's keys: k or space play and pause, j and l go 10 s back and forward, the arrows
5 s, f toggles full screen, m the sound, ? lists them in a dialog; never while typing in a
field, never with a modifier, never while a dialog is open."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import Library

pytestmark = pytest.mark.browser

PROMPT = "Lighthouse at dusk, waves, slow push-in"


def open_player(page: Page, library: Library, clip: Path) -> None:
    item = library.import_clip(clip, PROMPT)
    page.goto(f"/gallery/{item['id']}")
    expect(page.get_by_role("heading", name=PROMPT)).to_be_visible()
    page.locator("video-player video").evaluate(
        "v => v.readyState >= 1 || new Promise(r => v.addEventListener('loadedmetadata', r))"
    )


def video_state(page: Page) -> dict:
    return page.locator("video-player video").evaluate(
        """(video) => ({ paused: video.paused, time: video.currentTime, muted: video.muted,
                         fullscreen: video.getRootNode().fullscreenElement?.className ?? null })"""
    )


def seek_to(page: Page, seconds: float) -> None:
    page.locator("video-player video").evaluate(f"v => {{ v.currentTime = {seconds}; }}")


def wait_for(page: Page, condition: str) -> None:
    """Until `condition` (a function of the player's <video>) holds, checked in the page."""
    page.locator("video-player video").evaluate(
        f"""(video) => new Promise((resolve) => {{
          const check = () => (({condition})(video) ? resolve() : setTimeout(check, 50));
          check();
        }})"""
    )


def said(page: Page):
    return page.locator("video-player").get_by_role("status")


def test_keys_play_pause_seek_mute_and_go_full_screen(
    page: Page, library: Library, long_clip: Path
) -> None:
    open_player(page, library, long_clip)
    assert video_state(page)["paused"]

    page.keyboard.press("k")
    wait_for(page, "v => !v.paused")
    expect(said(page)).to_have_text("Playing")
    page.keyboard.press("k")
    wait_for(page, "v => v.paused")
    expect(said(page)).to_have_text("Paused")
    page.keyboard.press(" ")
    wait_for(page, "v => !v.paused")
    page.keyboard.press(" ")
    wait_for(page, "v => v.paused")

    seek_to(page, 15)
    for key, expected in (("l", 25), ("j", 15), ("ArrowRight", 20), ("ArrowLeft", 15)):
        page.keyboard.press(key)
        assert abs(video_state(page)["time"] - expected) < 0.3, (key, video_state(page))
    expect(said(page)).to_have_text("Back to 0:15")
    # Clamped at both ends.
    seek_to(page, 3)
    page.keyboard.press("j")
    assert video_state(page)["time"] == 0
    seek_to(page, 28)
    page.keyboard.press("l")
    assert video_state(page)["time"] >= 29.9

    page.keyboard.press("m")
    assert video_state(page)["muted"]
    expect(said(page)).to_have_text("Sound off")
    page.keyboard.press("m")
    assert not video_state(page)["muted"]

    page.keyboard.press("f")
    wait_for(page, "() => document.fullscreenElement !== null")
    assert video_state(page)["fullscreen"] == "box"  # the player's box: video and previews
    page.keyboard.press("f")
    wait_for(page, "() => document.fullscreenElement === null")


def test_keys_do_nothing_while_typing_or_with_a_modifier(
    page: Page, library: Library, long_clip: Path
) -> None:
    open_player(page, library, long_clip)
    seek_to(page, 10)
    # A field on the page (as a search box in the header would be), typed into.
    page.evaluate(
        """() => {
          const field = document.createElement('input');
          field.setAttribute('aria-label', 'Notes');
          document.body.prepend(field);
        }"""
    )
    notes = page.get_by_label("Notes")
    notes.click()
    page.keyboard.type("k j l f m ?")
    page.keyboard.press("ArrowLeft")
    expect(notes).to_have_value("k j l f m ?")
    state = video_state(page)
    assert state["paused"] and abs(state["time"] - 10) < 0.01 and not state["muted"]
    assert state["fullscreen"] is None
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_hidden()

    # With a modifier the key belongs to the browser or the system.
    page.locator("main").focus()
    for chord in ("Alt+k", "Alt+l", "Shift+J", "Shift+M", "Control+ArrowLeft", "Alt+f"):
        page.keyboard.press(chord)
    state = video_state(page)
    assert state["paused"] and abs(state["time"] - 10) < 0.01 and not state["muted"]
    assert state["fullscreen"] is None

    # Space on a focused button presses the button; it does not play the video.
    page.get_by_role("button", name="Keyboard shortcuts").focus()
    page.keyboard.press(" ")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    assert video_state(page)["paused"]


def test_question_mark_lists_the_keys_and_the_dialog_keeps_them(
    page: Page, library: Library, long_clip: Path, artifacts: Path
) -> None:
    open_player(page, library, long_clip)
    page.locator("main").focus()
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    for words in (
        "Play or pause",
        "Back 10 seconds",
        "Forward 10 seconds",
        "Back 5 seconds",
        "Forward 5 seconds",
        "Full screen on or off",
        "Sound off or on",
    ):
        expect(dialog.get_by_text(words, exact=True)).to_be_visible()
    expect(dialog.get_by_role("button", name="Close")).to_be_focused()
    page.screenshot(path=artifacts / "player-key-help.png")
    # While it is open, the keys do not reach the player.
    page.keyboard.press("k")
    page.keyboard.press("l")
    state = video_state(page)
    assert state["paused"] and state["time"] == 0
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    # The button opens the same list, and focus comes back to it on Close.
    button = page.get_by_role("button", name="Keyboard shortcuts")
    button.click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    expect(button).to_be_focused()
