"""Previews: a card pointed at or focused plays its video muted, one card at a time, never with
reduced motion or on a touch-only device; the player shows the storyboard's frame under the
pointer above its timeline, and a filmstrip under it whose buttons seek."""

from __future__ import annotations

import colorsys
import fractions
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import pytest
from playwright.sync_api import BrowserContext, Locator, Page, Route, expect

from tests.browser.conftest import sign_in
from tests.browser.helpers import Library

pytestmark = pytest.mark.browser

# Longer than the preview's delay (250 ms) by far: a preview that was going to start has.
SETTLE_MS = 1500


def card(page: Page, prompt: str) -> Locator:
    return page.locator("video-card").filter(has=page.get_by_role("link", name=prompt))


def preview_of(page: Page, prompt: str) -> Locator:
    return card(page, prompt).locator("video.preview")


def wait_until_playing(preview: Locator) -> None:
    preview.evaluate(
        """(video) => new Promise((resolve) => {
          const check = () =>
            !video.paused && video.currentTime > 0 ? resolve() : setTimeout(check, 50);
          check();
        })"""
    )


def wait_for(target: Locator, condition: str) -> None:
    """Until `condition` (a function of the element) holds, checked every 50 ms in the page."""
    target.evaluate(
        f"""(element) => new Promise((resolve) => {{
          const check = () => (({condition})(element) ? resolve() : setTimeout(check, 50));
          check();
        }})"""
    )


def test_a_card_plays_its_video_muted_while_pointed_at_or_focused_one_at_a_time(
    page: Page, library: Library, clips: dict[str, Path], artifacts: Path
) -> None:
    tall = library.import_clip(clips["9:16"], "Sneaker launch, neon city at night")
    library.import_clip(clips["16:9"], "Electric SUV on a coastal road")
    page.goto("/gallery")
    expect(page.locator("video-card")).to_have_count(2)
    assert page.evaluate("() => matchMedia('(hover: hover)').matches")

    card(page, "Sneaker launch, neon city at night").hover()
    sneaker = preview_of(page, "Sneaker launch, neon city at night")
    expect(sneaker).to_have_count(1)
    # The versioned URL the item carries, muted, looping, out of the accessibility tree.
    expect(sneaker).to_have_attribute("src", tall["video_url"])
    assert "?v=" in tall["video_url"]
    expect(sneaker).to_have_attribute("aria-hidden", "true")
    wait_until_playing(sneaker)
    assert sneaker.evaluate("v => v.muted && v.loop")
    expect(sneaker).to_have_class(re.compile(r"\bshown\b"))
    page.screenshot(path=artifacts / "card-preview-hover.png")

    # Another card: it plays, the first one stops and lets go of its video.
    card(page, "Electric SUV on a coastal road").hover()
    suv = preview_of(page, "Electric SUV on a coastal road")
    wait_until_playing(suv)
    expect(sneaker).to_have_count(0)
    assert page.locator("video-card video").count() == 1

    # Pointer away: nothing plays.
    page.mouse.move(5, 5)
    expect(page.locator("video-card video")).to_have_count(0)

    # Keyboard focus does the same (the newest card comes first).
    page.get_by_role("link", name="Electric SUV on a coastal road").focus()
    wait_until_playing(preview_of(page, "Electric SUV on a coastal road"))
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Sneaker launch, neon city at night")).to_be_focused()
    wait_until_playing(preview_of(page, "Sneaker launch, neon city at night"))
    expect(preview_of(page, "Electric SUV on a coastal road")).to_have_count(0)


def test_no_previews_with_reduced_motion_nor_on_touch_only_devices(
    new_context: Callable[..., BrowserContext], library: Library, clips: dict[str, Path]
) -> None:
    library.import_clip(clips["1:1"], "Cold brew pour in slow motion")
    for options in ({"reduced_motion": "reduce"}, {"has_touch": True, "is_mobile": True}):
        context = new_context(**options)
        sign_in(context, library)
        page = context.new_page()
        page.goto("/gallery")
        expect(page.locator("video-card")).to_have_count(1)
        link = page.get_by_role("link", name="Cold brew pour in slow motion")
        if "has_touch" in options:
            assert not page.evaluate("() => matchMedia('(hover: hover)').matches")
        else:
            card(page, "Cold brew pour in slow motion").hover()
        link.focus()
        page.wait_for_timeout(SETTLE_MS)
        expect(page.locator("video-card video")).to_have_count(0)
        context.close()


# --- the player's storyboard ---------------------------------------------------------------

COLUMNS, ROWS, TILE_W, TILE_H = 10, 3, 160, 90


def sprite_jpeg() -> bytes:
    """A sprite of COLUMNS x ROWS tiles, each one flat colour of its own (tile i has hue i/n)."""
    width, height = COLUMNS * TILE_W, ROWS * TILE_H
    pixels = bytearray(width * height * 3)
    for index in range(COLUMNS * ROWS):
        row, column = divmod(index, COLUMNS)
        rgb = colorsys.hsv_to_rgb(index / (COLUMNS * ROWS), 0.8, 0.9)
        line = bytes(int(channel * 255) for channel in rgb) * TILE_W
        for y in range(row * TILE_H, (row + 1) * TILE_H):
            start = (y * width + column * TILE_W) * 3
            pixels[start : start + TILE_W * 3] = line
    frame = av.VideoFrame(width, height, "rgb24")
    frame.planes[0].update(bytes(pixels))
    codec = av.CodecContext.create("mjpeg", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuvj420p"
    codec.time_base = fractions.Fraction(1, 25)
    packets = codec.encode(frame.reformat(format="yuvj420p")) + codec.encode(None)
    return b"".join(bytes(packet) for packet in packets)


def vtt_time(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"00:{int(minutes):02d}:{rest:06.3f}"


def storyboard_vtt(sprite_url: str, seconds: int) -> str:
    """One tile per second of the video, as the API's storyboards are."""
    lines = ["WEBVTT", ""]
    for index in range(seconds):
        row, column = divmod(index, COLUMNS)
        lines += [
            f"{vtt_time(index)} --> {vtt_time(index + 1)}",
            f"{sprite_url}#xywh={column * TILE_W},{row * TILE_H},{TILE_W},{TILE_H}",
            "",
        ]
    return "\n".join(lines)


def serve_storyboard(page: Page, item: dict[str, Any], seconds: int) -> None:
    """The item's storyboard as the contract describes it, served by the test: the item gets a
    storyboard_url, and the WebVTT and its sprite answer under /api/storyboard/{id}."""
    base = f"/api/storyboard/{item['id']}"
    sprite = sprite_jpeg()
    vtt = storyboard_vtt(f"{base}/sprite.jpg?v=test", seconds)

    def item_route(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        body["storyboard_url"] = f"{base}?v=test"
        route.fulfill(response=response, json=body)

    def storyboard_route(route: Route) -> None:
        if route.request.url.split("?")[0].endswith("/sprite.jpg"):
            route.fulfill(status=200, body=sprite, content_type="image/jpeg")
        else:
            route.fulfill(status=200, body=vtt, content_type="text/vtt")

    page.route(f"**/api/generations/{item['id']}", item_route)
    page.route(f"**{base}**", storyboard_route)


def player_box(page: Page) -> dict[str, float]:
    return page.locator("video-player .box").bounding_box()


def test_the_player_previews_the_frame_under_the_pointer_and_its_filmstrip_seeks(
    page: Page, library: Library, long_clip: Path, artifacts: Path
) -> None:
    item = library.import_clip(long_clip, "Lighthouse at dusk, slow push-in")
    serve_storyboard(page, item, seconds=30)
    page.goto(f"/gallery/{item['id']}")
    video = page.locator("video-player video")
    video.evaluate(
        "v => v.readyState >= 1 || new Promise(r => v.addEventListener('loadedmetadata', r))"
    )

    # Over the picture: no preview. Over the timeline, at about the middle: the 15 s tile.
    box = player_box(page)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    preview = page.locator("video-player .seek-preview")
    expect(preview).to_be_hidden()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] - 20)
    expect(preview).to_be_visible()
    expect(preview).to_contain_text("0:15")
    tile = preview.locator("img")
    expect(tile).to_have_attribute("src", f"/api/storyboard/{item['id']}/sprite.jpg?v=test")
    # Tile 15 sits in row 1, column 5 of the sprite.
    assert "translate(-800px, -90px)" in tile.evaluate("img => img.style.transform")
    page.screenshot(path=artifacts / "player-seek-preview.png")
    # Near the start and the end of the timeline.
    page.mouse.move(box["x"] + 20, box["y"] + box["height"] - 20)
    expect(preview).to_contain_text("0:00")
    page.mouse.move(box["x"] + box["width"] - 10, box["y"] + box["height"] - 20)
    expect(preview).to_contain_text("0:30")
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] - 40)
    expect(preview).to_be_hidden()

    # The filmstrip: ten buttons spread over the video, reachable with the keyboard.
    strip = page.get_by_role("list", name="Storyboard: jump to a moment")
    buttons = strip.get_by_role("button")
    expect(buttons).to_have_count(10)
    assert buttons.first.get_attribute("aria-label") == "Seek to 0:00"
    assert buttons.last.get_attribute("aria-label") == "Seek to 0:29"
    page.screenshot(path=artifacts / "player-filmstrip.png", full_page=True)
    seek = strip.get_by_role("button", name="Seek to 0:13")
    seek.focus()
    page.keyboard.press("Enter")
    wait_for(video, "v => Math.abs(v.currentTime - 13) < 0.5")
    expect(seek).to_have_attribute("aria-current", "true")
    strip.get_by_role("button", name="Seek to 0:26").click()
    wait_for(video, "v => Math.abs(v.currentTime - 26) < 0.5")
    expect(strip.get_by_role("button", name="Seek to 0:26")).to_have_attribute(
        "aria-current", "true"
    )
    expect(seek).not_to_have_attribute("aria-current", "true")


def test_a_video_without_a_storyboard_has_no_filmstrip(
    page: Page, library: Library, clips: dict[str, Path]
) -> None:
    item = library.import_clip(clips["16:9"], "Bakery croissants, warm light")

    def without(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        body["storyboard_url"] = None
        route.fulfill(response=response, json=body)

    page.route(f"**/api/generations/{item['id']}", without)
    page.goto(f"/gallery/{item['id']}")
    expect(page.locator("video-player video")).to_be_visible()
    expect(page.get_by_role("button", name="Keyboard shortcuts")).to_be_visible()
    expect(page.get_by_role("list", name="Storyboard: jump to a moment")).to_be_hidden()
    box = player_box(page)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] - 20)
    expect(page.locator("video-player .seek-preview")).to_be_hidden()


def test_the_servers_own_storyboard_reaches_the_player(
    page: Page, library: Library, long_clip: Path, artifacts: Path
) -> None:
    # Opened at once after the import: the storyboard is made in the background, and the item
    # gains its storyboard_url with a live event (or already has it).
    item = library.import_clip(long_clip, "Lighthouse, the server's storyboard")
    page.goto(f"/gallery/{item['id']}")
    strip = page.get_by_role("list", name="Storyboard: jump to a moment")
    expect(strip.get_by_role("button")).to_have_count(10, timeout=30_000)
    storyboard_url = library.item(item["id"]).json()["storyboard_url"]
    assert storyboard_url.startswith(f"/api/storyboard/{item['id']}")
    first = strip.get_by_role("button").first.locator("img")
    expect(first).to_have_attribute(
        "src", re.compile(rf"^/api/storyboard/{item['id']}/sprite\.jpg")
    )
    first.evaluate("img => img.complete || new Promise((r) => img.addEventListener('load', r))")
    assert first.evaluate("img => img.naturalWidth") > 0
    box = player_box(page)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] - 20)
    expect(page.locator("video-player .seek-preview")).to_contain_text("0:15")
    page.screenshot(path=artifacts / "player-seek-preview-server-storyboard.png")
    strip.get_by_role("button").last.click()
    wait_for(page.locator("video-player video"), "v => v.currentTime > 25")


def test_on_a_phone_the_filmstrip_and_the_upload_queue_fit_the_screen(
    new_context: Callable[..., BrowserContext],
    library: Library,
    long_clip: Path,
    clips: dict[str, Path],
    artifacts: Path,
) -> None:
    item = library.import_clip(long_clip, "Lighthouse at dusk on a phone")
    context = new_context(viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True)
    sign_in(context, library)
    page = context.new_page()
    serve_storyboard(page, item, seconds=30)
    page.goto(f"/gallery/{item['id']}")
    strip = page.get_by_role("list", name="Storyboard: jump to a moment")
    expect(strip.get_by_role("button")).to_have_count(10)
    # The strip scrolls sideways inside itself; the page never does.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
    strip.get_by_role("button", name="Seek to 0:29").scroll_into_view_if_needed()
    expect(strip.get_by_role("button", name="Seek to 0:29")).to_be_in_viewport()
    page.screenshot(path=artifacts / "player-filmstrip-phone.png")

    page.get_by_role("link", name="Back to your videos").click()
    page.get_by_role("button", name="Import video").click()
    page.get_by_label("Video files").set_input_files([clips["9:16"], clips["1:1"]])
    page.get_by_role("button", name="Import 2 videos").click()
    queue = page.get_by_role("region", name="Uploads")
    expect(queue.get_by_role("listitem").filter(has_text="clip_480x480.mp4")).to_contain_text(
        "Imported", timeout=20_000
    )
    panel = queue.bounding_box()
    assert panel["x"] >= 0 and panel["x"] + panel["width"] <= 375
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
    # Every control of the panel is inside it, none cut off at its edge.
    for control in queue.get_by_role("button").all() + queue.get_by_role("link").all():
        edge = control.bounding_box()
        assert edge["x"] + edge["width"] <= panel["x"] + panel["width"], control.inner_text()
    page.screenshot(path=artifacts / "upload-queue-phone.png")
    # Hidden, it keeps only its header.
    queue.get_by_role("button", name="Hide").click()
    expect(queue.get_by_role("listitem").first).to_be_hidden()
    expect(queue.get_by_role("button", name="Show")).to_have_attribute("aria-expanded", "false")
