"""Imports as a person expects them: several files at once, each with a prompt filled in from
its file name and checked before any byte is sent; files dropped on the gallery; an upload
queue above the pages that survives moving around the app, with progress and Cancel per file,
a link to each new video, the server's own sentence for a refused file, a turn to wait when the
server has no upload slot free, and a warning before the tab is closed while uploads run."""

from __future__ import annotations

import base64
import re
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, Request, expect

from tests.browser.conftest import MAX_UPLOAD_BYTES, sign_in
from tests.browser.helpers import Library, card_prompts, run_async
from tests.support.factories import login
from tests.support.servers import LiveServer, live_app

pytestmark = pytest.mark.browser

UPLOAD_BYTES_PER_SECOND = 1_000_000


def open_import(page: Page) -> None:
    page.goto("/gallery")
    expect(page.get_by_role("heading", name="No videos found")).to_be_visible()
    page.get_by_role("button", name="Import video").click()
    expect(page.get_by_role("region", name="Import a video")).to_be_visible()


def imports_sent(page: Page) -> list[Request]:
    """Every import request the page sends from now on."""
    sent: list[Request] = []
    page.on(
        "request",
        lambda request: (
            sent.append(request)
            if request.method == "POST" and urlsplit(request.url).path == "/api/generations"
            else None
        ),
    )
    return sent


def throttle_uploads(page: Page) -> None:
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


def uploads(page: Page):
    return page.get_by_role("region", name="Uploads")


def upload_row(page: Page, name: str):
    return uploads(page).get_by_role("listitem").filter(has_text=name)


def test_several_files_at_once_each_with_its_own_prompt_from_the_file_name(
    page: Page, library: Library, clips: dict[str, Path], artifacts: Path
) -> None:
    open_import(page)
    page.get_by_label("Video files").set_input_files([clips["16:9"], clips["1:1"]])
    wide = page.get_by_label("Prompt for clip_640x360.mp4")
    square = page.get_by_label("Prompt for clip_480x480.mp4")
    expect(wide).to_have_value("clip 640x360")
    expect(square).to_have_value("clip 480x480")
    expect(wide).to_be_focused()
    wide.fill("Electric SUV on a coastal road at sunrise")
    page.screenshot(path=artifacts / "import-several-files.png")
    page.get_by_role("button", name="Import 2 videos").click()

    # The form hands them over and closes; the queue shows each one to the end.
    expect(page.get_by_role("region", name="Import a video")).to_be_hidden()
    expect(upload_row(page, "clip_640x360.mp4")).to_contain_text("Imported", timeout=20_000)
    expect(upload_row(page, "clip_480x480.mp4")).to_contain_text("Imported", timeout=20_000)
    expect(uploads(page)).to_contain_text("2 of 2 imported")
    expect(page.locator("live-announcer")).to_contain_text(
        "Video imported: Electric SUV on a coastal road at sunrise"
    )
    expect(page.locator("video-card")).to_have_count(2)
    assert sorted(card_prompts(page)) == [
        "Electric SUV on a coastal road at sunrise",
        "clip 480x480",
    ]
    page.screenshot(path=artifacts / "upload-queue-done.png")

    # Each finished row links to its video.
    upload_row(page, "clip_640x360.mp4").get_by_role(
        "link", name="Open the video from clip_640x360.mp4"
    ).click()
    expect(
        page.get_by_role("heading", name="Electric SUV on a coastal road at sunrise")
    ).to_be_visible()
    uploads(page).get_by_role("button", name="Clear finished").click()
    expect(uploads(page)).to_be_hidden()
    expect(page.locator("main")).to_be_focused()


def test_prompts_and_files_are_checked_before_any_byte_is_sent(
    page: Page, library: Library, clips: dict[str, Path], tmp_path: Path
) -> None:
    open_import(page)
    sent = imports_sent(page)

    page.get_by_role("button", name="Import video", exact=True).click()
    expect(page.get_by_text("Choose a video file to import.")).to_be_visible()
    expect(page.get_by_label("Video files")).to_be_focused()

    notes = tmp_path / "notes.txt"
    notes.write_text("meeting notes\n")
    page.get_by_label("Video files").set_input_files([clips["9:16"], notes])
    page.get_by_label("Prompt for clip_360x640.mp4").fill("   ")
    page.get_by_label("Prompt for notes.txt").fill("x" * 2001)
    page.get_by_role("button", name="Import 2 videos").click()
    expect(page.get_by_text("Nothing was uploaded. Fix what is marked below")).to_be_visible()
    expect(
        page.get_by_text("Write the prompt the video was generated from.", exact=True)
    ).to_be_visible()
    expect(
        page.get_by_text("This is not a video file. Choose an MP4, MOV, WebM or MKV video.")
    ).to_be_visible()
    expect(
        page.get_by_text("The prompt is too long. Keep it to 2,000 characters or fewer.")
    ).to_be_visible()
    expect(page.get_by_label("Prompt for clip_360x640.mp4")).to_be_focused()
    expect(page.get_by_label("Prompt for clip_360x640.mp4")).to_have_attribute(
        "aria-invalid", "true"
    )

    # Removing the non-video and writing a prompt is all it takes.
    page.get_by_role("button", name="Remove notes.txt").click()
    page.get_by_label("Prompt for clip_360x640.mp4").fill("Sneaker launch, neon city at night")
    assert sent == []
    page.get_by_role("button", name="Import video", exact=True).click()
    expect(upload_row(page, "clip_360x640.mp4")).to_contain_text("Imported", timeout=20_000)
    assert len(sent) == 1
    assert library.http.get("/api/generations").json()["total"] == 1


def test_the_queue_survives_moving_around_the_app_and_each_file_can_be_cancelled(
    page: Page, library: Library, long_clip: Path, tmp_path: Path, artifacts: Path
) -> None:
    library.import_clip(long_clip, "Lighthouse at dusk, already here")
    second = tmp_path / "harbour_at_dawn.mp4"
    second.write_bytes(long_clip.read_bytes())
    page.goto("/gallery")
    expect(page.locator("video-card")).to_have_count(1)
    throttle_uploads(page)
    page.get_by_role("button", name="Import video").click()
    page.get_by_label("Video files").set_input_files([long_clip, second])
    page.get_by_role("button", name="Import 2 videos").click()
    lighthouse = upload_row(page, long_clip.name)
    harbour = upload_row(page, "harbour_at_dawn.mp4")
    expect(lighthouse).to_contain_text(re.compile(r"Uploading… \d+%"))
    expect(harbour).to_contain_text(re.compile(r"Uploading… \d+%"))
    page.screenshot(path=artifacts / "upload-queue-progress.png")

    # Closing the tab now would stop them: the browser asks first (and the person stays).
    asked: list[str] = []

    def stay(dialog) -> None:
        asked.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", stay)
    page.close(run_before_unload=True)
    expect(lighthouse).to_contain_text(re.compile(r"Uploading… \d+%"))
    assert asked == ["beforeunload"]

    # Into a video and back out: the uploads go on.
    page.get_by_role("link", name="Lighthouse at dusk, already here").click()
    expect(page.get_by_role("heading", name="Lighthouse at dusk, already here")).to_be_visible()
    progress = lighthouse.get_by_role("progressbar", name=f"Upload of {long_clip.name}")
    before = float(progress.get_attribute("value") or 0)
    expect(progress).not_to_have_attribute("value", str(int(before)), timeout=10_000)
    uploads(page).get_by_role("button", name="Cancel upload of harbour_at_dawn.mp4").click()
    expect(harbour).to_contain_text("Cancelled")
    expect(page.locator("live-announcer")).to_contain_text(
        "Upload of harbour_at_dawn.mp4 cancelled"
    )
    page.go_back()
    expect(lighthouse).to_contain_text("Imported", timeout=30_000)
    expect(page.locator("video-card")).to_have_count(2)
    prompts = [
        item["prompt"] for item in library.http.get("/api/generations").json()["generations"]
    ]
    assert sorted(prompts) == ["Lighthouse at dusk, already here", "lighthouse 1280x720"]
    page.remove_listener("dialog", stay)


def test_refused_files_show_the_servers_sentence_each(
    page: Page, library: Library, clips: dict[str, Path], tmp_path: Path
) -> None:
    notes = tmp_path / "notes.mp4"
    notes.write_text("meeting notes, definitely not a video\n" * 50)
    big = tmp_path / "huge.mp4"
    big.write_bytes(clips["16:9"].read_bytes() + bytes(MAX_UPLOAD_BYTES))
    # What the server says of the text file (the page must show just that).
    unsupported = library.http.post(
        "/api/generations",
        data={"prompt": "probe"},
        files={"file": ("notes.mp4", notes.read_bytes(), "video/mp4")},
    )
    assert unsupported.status_code == 415
    open_import(page)
    page.get_by_label("Video files").set_input_files([notes, big, clips["1:1"]])
    page.get_by_role("button", name="Import 3 videos").click()
    expect(upload_row(page, "notes.mp4")).to_contain_text(
        unsupported.json()["detail"], timeout=20_000
    )
    expect(upload_row(page, "huge.mp4")).to_contain_text(
        "The file is larger than the maximum upload size.", timeout=20_000
    )
    expect(upload_row(page, "clip_480x480.mp4")).to_contain_text("Imported", timeout=20_000)
    expect(page.locator("live-announcer")).to_contain_text("huge.mp4 could not be imported")
    uploads(page).get_by_role("button", name="Dismiss huge.mp4").click()
    expect(upload_row(page, "huge.mp4")).to_have_count(0)
    assert library.http.get("/api/generations").json()["total"] == 1


class HeldUploadSlot:
    """An import of this account that sends its head and then nothing: it holds one of the
    account's upload slots until closed."""

    def __init__(self, base_url: str, token: str) -> None:
        address = urlsplit(base_url)
        self.sock = socket.create_connection((address.hostname, address.port))
        head = (
            "POST /api/generations HTTP/1.1\r\n"
            f"Host: {address.netloc}\r\n"
            f"Authorization: Bearer {token}\r\n"
            "Content-Type: multipart/form-data; boundary=held\r\n"
            "Content-Length: 100000\r\n\r\n"
            '--held\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nheld\r\n'
        )
        self.sock.sendall(head.encode())

    def close(self) -> None:
        self.sock.close()


def test_files_wait_their_turn_and_a_full_server_is_waited_out(
    page: Page, library: Library, clips: dict[str, Path], long_clip: Path
) -> None:
    # Another tab of this person holds both upload slots the server grants an account.
    held = [HeldUploadSlot(library.base_url, library.token) for _ in range(2)]
    try:
        time.sleep(1)  # both handlers hold their slot (a probe before that could take one)
        probe = library.http.post(
            "/api/generations",
            data={"prompt": "probe"},
            files={"file": ("a.mp4", b"x", "video/mp4")},
        )
        assert probe.status_code == 429, probe.text
        open_import(page)
        sent = imports_sent(page)
        page.get_by_label("Video files").set_input_files(
            [clips["9:16"], clips["16:9"], clips["1:1"]]
        )
        page.get_by_role("button", name="Import 3 videos").click()
        # Never more than two at once: the third waits in line without asking the server.
        expect(upload_row(page, "clip_480x480.mp4")).to_contain_text("Waiting to upload…")
        expect(upload_row(page, "clip_360x640.mp4")).to_contain_text(
            "Waiting: other uploads of yours are still in progress."
        )
        assert len(sent) == 2
    finally:
        threading.Thread(target=lambda: [slot.close() for slot in held]).start()
    # Once the slots are free, after the server's Retry-After, all three go in.
    for name in ("clip_360x640.mp4", "clip_640x360.mp4", "clip_480x480.mp4"):
        expect(upload_row(page, name)).to_contain_text("Imported", timeout=30_000)
    assert library.http.get("/api/generations").json()["total"] == 3


def test_files_dropped_on_the_gallery_land_in_the_import_form(
    page: Page, library: Library, clips: dict[str, Path], artifacts: Path
) -> None:
    page.goto("/gallery")
    expect(page.get_by_role("heading", name="No videos found")).to_be_visible()
    data = base64.b64encode(clips["1:1"].read_bytes()).decode()
    drag = page.evaluate_handle(
        """(data) => {
          const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
          const transfer = new DataTransfer();
          transfer.items.add(new File([bytes], 'cold_brew-pour_v2.mp4', { type: 'video/mp4' }));
          return transfer;
        }""",
        data,
    )
    gallery = page.locator("gallery-page")
    gallery.dispatch_event("dragenter", {"dataTransfer": drag})
    gallery.dispatch_event("dragover", {"dataTransfer": drag})
    expect(page.get_by_text("Drop the videos to import them")).to_be_visible()
    page.screenshot(path=artifacts / "import-drop-hint.png")
    gallery.dispatch_event("drop", {"dataTransfer": drag})
    expect(page.get_by_text("Drop the videos to import them")).to_be_hidden()
    expect(page.get_by_role("region", name="Import a video")).to_be_visible()
    prompt = page.get_by_label("Prompt for cold_brew-pour_v2.mp4")
    expect(prompt).to_have_value("cold brew pour v2")
    expect(prompt).to_be_focused()
    prompt.fill("Cold brew coffee pour in slow motion")
    page.get_by_role("button", name="Import video", exact=True).click()
    expect(upload_row(page, "cold_brew-pour_v2.mp4")).to_contain_text("Imported", timeout=20_000)
    expect(page.locator("video-card")).to_have_count(1)
    assert card_prompts(page) == ["Cold brew coffee pour in slow motion"]


def test_signing_out_cancels_the_uploads_on_their_way(
    page: Page, library: Library, long_clip: Path
) -> None:
    open_import(page)
    throttle_uploads(page)
    page.get_by_label("Video files").set_input_files(long_clip)
    page.get_by_role("button", name="Import video", exact=True).click()
    row = upload_row(page, long_clip.name)
    expect(row).to_contain_text(re.compile(r"Uploading… \d+%"))
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    expect(row).to_contain_text("Cancelled")
    # The browser's session is gone; a new one of the same person finds nothing imported.
    token = run_async(lambda: login(library.base_url, library.email))
    listing = httpx.get(
        f"{library.base_url}/api/generations", headers={"Authorization": f"Bearer {token}"}
    )
    assert listing.json()["total"] == 0, listing.text


def test_a_file_past_the_storage_quota_shows_the_servers_sentence(
    new_context: Callable[..., BrowserContext],
    server: LiveServer,
    library: Library,
    clips: dict[str, Path],
) -> None:
    stored = library.import_clip(clips["1:1"], "Already stored")
    quota = stored["file_size"] + clips["16:9"].stat().st_size // 2
    with live_app(server.settings, user_quota_bytes=quota) as app:
        refused = httpx.post(
            f"{app.base_url}/api/generations",
            headers={"Authorization": f"Bearer {library.token}"},
            data={"prompt": "probe"},
            files={"file": ("wide.mp4", clips["16:9"].read_bytes(), "video/mp4")},
        )
        assert refused.status_code == 413, refused.text
        assert "quota" in refused.json()["detail"]
        context = new_context(base_url=app.base_url)
        sign_in(context, library)
        page = context.new_page()
        page.goto("/gallery")
        expect(page.locator("video-card")).to_have_count(1)
        page.get_by_role("button", name="Import video").click()
        page.get_by_label("Video files").set_input_files(clips["16:9"])
        page.get_by_role("button", name="Import video", exact=True).click()
        expect(upload_row(page, "clip_640x360.mp4")).to_contain_text(
            refused.json()["detail"], timeout=20_000
        )
        context.close()
    assert library.http.get("/api/generations").json()["total"] == 1
