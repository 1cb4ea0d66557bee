"""Keyboard only: every step is a key press, focus is always visible, and the delete dialog
keeps focus inside itself and gives it back when it closes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import DEEP_ACTIVE_ELEMENT, Library, focus_ring_visible, focused_text

pytestmark = pytest.mark.browser

MAX_TABS = 40


def tab_to(page: Page, text: str) -> None:
    """Press Tab until the focused element reads `text`; every stop must show its focus."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if focused_text(page) == text:
            assert focus_ring_visible(page), f"no visible focus on {text!r}"
            return
    raise AssertionError(f"{text!r} cannot be reached with Tab")


def focus_is_in_dialog(page: Page) -> bool:
    return page.evaluate(f"() => Boolean(({DEEP_ACTIVE_ELEMENT})()?.closest('dialog[open]'))")


def test_keyboard_only_open_a_video_and_delete_it_through_the_dialog(
    page: Page, library: Library, clips: dict[str, Path]
) -> None:
    library.import_clip(clips["16:9"], "Keyboard kept clip")
    doomed = library.import_clip(clips["1:1"], "Keyboard doomed clip")
    page.goto("/gallery")
    expect(page.locator("video-card")).to_have_count(2)

    # The skip link is the first stop and takes focus to the content.
    page.keyboard.press("Tab")
    assert focused_text(page) == "Skip to content"
    assert focus_ring_visible(page)
    expect(page.get_by_role("link", name="Skip to content")).to_be_in_viewport()
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "content"

    tab_to(page, "Keyboard doomed clip")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(f"/gallery/{doomed['id']}$"))
    expect(page.get_by_role("heading", name="Keyboard doomed clip")).to_be_visible()

    tab_to(page, "Delete")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    assert focused_text(page) == "Cancel"  # the safe choice comes first
    assert focus_ring_visible(page)

    # Tab and Shift+Tab cycle inside the dialog; the page behind is out of reach.
    stops = []
    for key in ["Tab", "Tab", "Tab", "Shift+Tab", "Shift+Tab", "Shift+Tab"]:
        page.keyboard.press(key)
        assert focus_is_in_dialog(page), f"focus left the dialog after {key}"
        stops.append(focused_text(page))
    assert stops == ["Delete", "Cancel", "Delete", "Cancel", "Delete", "Cancel"]

    # Escape cancels: the video stays and focus is back on the page's Delete button.
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert focused_text(page) == "Delete"
    assert not focus_is_in_dialog(page)
    assert library.item(doomed["id"]).status_code == 200

    # Enter opens it again; Tab to the dialog's Delete and Enter confirms.
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    page.keyboard.press("Tab")
    assert focused_text(page) == "Delete" and focus_is_in_dialog(page)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/gallery$"))
    expect(page.get_by_role("status").filter(has_text="Video deleted")).to_be_visible()
    expect(page.locator("video-card")).to_have_count(1)
    assert library.item(doomed["id"]).status_code == 404
