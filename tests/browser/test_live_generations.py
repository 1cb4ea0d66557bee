"""Generations that really happen, watched in the gallery: a person requests one in the "New
generation" dialog, a worker (driven here over the real worker endpoints with a key made by the
real CLI) claims it, reports progress and delivers a real MP4, and the page follows each step
through the live event stream, without a reload and without polling. On SQLite (in-process
fan-out) and on PostgreSQL (LISTEN/NOTIFY)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, Route, expect

from reelvault.settings import Settings
from tests.browser.conftest import MAX_UPLOAD_BYTES, sign_in
from tests.browser.helpers import Library, Worker
from tests.conftest import BACKENDS, database_url
from tests.support.media import clip
from tests.support.servers import LiveServer, live_app, run_cli

pytestmark = pytest.mark.browser

EVENTS = "/api/generations/events"


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    browser: Browser, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """This module's own app, so that the worker queue holds only what these tests request."""
    backend: str = request.param
    workdir = tmp_path_factory.mktemp(f"live-{backend}")
    with database_url(backend, workdir) as url:
        settings = Settings(
            data_dir=workdir,
            database_url=url,
            max_upload_bytes=MAX_UPLOAD_BYTES,
            log_level="WARNING",
            # Each ping re-checks the session: a short cadence ends a signed-out stream soon.
            events_ping_seconds=1,
        ).resolved()
        with live_app(settings, migrate=True) as live:
            yield live


@pytest.fixture(scope="module")
def worker(server: LiveServer) -> Iterator[Worker]:
    made = run_cli(server.settings, "reelvault", "worker-key", "create", "browser-tests")
    key = made.stdout.strip().splitlines()[-1]
    assert key.startswith("rvk_"), made.stdout
    instance = Worker(server.base_url, key)
    yield instance
    instance.close()


@pytest.fixture(scope="module")
def landscape() -> Path:
    return clip(320, 180, 2.0)


def api_calls(page: Page) -> list[str]:
    """Every API request the page makes from now on, as "METHOD path"."""
    seen: list[str] = []

    def record(request: Request) -> None:
        path = re.sub(r"^https?://[^/]+", "", request.url)
        if path.startswith("/api/"):
            seen.append(f"{request.method} {path}")

    page.on("request", record)
    return seen


def card(page: Page, prompt: str):
    return page.locator("video-card").filter(has=page.get_by_role("link", name=prompt))


def announced(page: Page):
    return page.locator("live-announcer [aria-live='polite']")


def test_a_requested_generation_appears_pending_moves_completes_and_plays(
    page: Page, library: Library, worker: Worker, landscape: Path, artifacts: Path
) -> None:
    prompt = "A red convertible along the coast at golden hour"
    page.goto("/gallery")
    expect(page.get_by_role("heading", name="No videos found")).to_be_visible()
    calls = api_calls(page)

    page.get_by_role("button", name="New generation").click()
    dialog = page.get_by_role("dialog", name="New generation")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Prompt")).to_be_focused()
    expect(dialog.get_by_label("Duration in seconds")).to_have_value("15")
    expect(dialog.get_by_label("9:16 (Portrait)")).to_be_checked()
    dialog.get_by_label("Prompt").fill(prompt)
    dialog.get_by_label("Duration in seconds").fill("4")
    dialog.get_by_label("16:9 (Landscape)").check()
    dialog.get_by_role("button", name="Request generation").click()

    expect(dialog).to_be_hidden()
    expect(page.get_by_role("button", name="New generation")).to_be_focused()
    requested = card(page, prompt)
    expect(requested.locator("status-badge")).to_have_text("Pending")
    expect(requested.locator(".progress")).to_contain_text("Queued")
    [item] = library.http.get("/api/generations").json()["generations"]
    assert (item["status"], item["duration"], item["aspect_ratio"]) == ("pending", 4, "16:9")

    lease = worker.claim(item["id"])
    expect(requested.locator("status-badge")).to_have_text("Processing")
    bar = requested.get_by_role("progressbar", name="Generation progress")
    for progress in (25, 60, 95):
        assert worker.heartbeat(item["id"], lease, progress).status_code == 200
        expect(bar).to_have_attribute("aria-valuenow", str(progress))
        expect(requested.locator(".progress")).to_contain_text(f"{progress}% done")
    page.screenshot(path=artifacts / "live-generation-processing.png")

    worker.complete(item["id"], lease, landscape)
    expect(requested.locator("status-badge")).to_have_text("Completed")
    thumbnail = requested.locator("img.picture")
    expect(thumbnail).to_be_visible()
    thumbnail.evaluate("i => i.complete && i.naturalWidth || new Promise(r => i.onload = r)")
    assert thumbnail.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [320, 180]
    expect(requested.locator(".progress")).to_be_hidden()
    expect(announced(page)).to_contain_text(f"{prompt} is ready")

    # Everything above came over the one event stream: one POST, and no listing or item
    # polls beyond the first page fetched again when the stream opened.
    assert "POST /api/generations" in calls
    polls = [call for call in calls if call.startswith("GET /api/generations/" + item["id"])]
    assert polls == [], calls
    listings = [call for call in calls if call.startswith("GET /api/generations?")]
    assert len(listings) <= 1, calls

    requested.get_by_role("link", name=prompt).click()
    video = page.locator("video-player video")
    expect(video).to_be_visible()
    video.evaluate(
        "v => v.readyState >= 2 || new Promise(r => v.addEventListener('loadeddata', r))"
    )
    assert video.evaluate("v => v.play().then(() => true)") is True
    page.wait_for_function("v => v.currentTime > 0.2", arg=video.element_handle(), timeout=10_000)
    assert video.evaluate("v => [v.videoWidth, v.videoHeight]") == [320, 180]


def test_the_form_checks_the_contract_and_shows_the_server_refusal_by_its_field(
    page: Page, library: Library, artifacts: Path
) -> None:
    page.goto("/gallery")
    page.get_by_role("button", name="New generation").click()
    dialog = page.get_by_role("dialog", name="New generation")
    prompt = dialog.get_by_label("Prompt")
    duration = dialog.get_by_label("Duration in seconds")

    # Said before anything is sent.
    prompt.fill("   ")
    duration.fill("61")
    dialog.get_by_role("button", name="Request generation").click()
    expect(dialog.locator("#prompt-error")).to_have_text(
        "Write a prompt: what should the video show?"
    )
    expect(dialog.locator("#duration-error")).to_have_text(
        "Choose a whole number of seconds from 1 to 60."
    )
    expect(prompt).to_be_focused()
    expect(prompt).to_have_attribute("aria-invalid", "true")
    page.screenshot(path=artifacts / "new-generation-dialog-errors.png")
    prompt.fill("x" * 2001)
    duration.fill("10")
    dialog.get_by_role("button", name="Request generation").click()
    expect(dialog.locator("#prompt-error")).to_contain_text("2,001 characters")
    expect(dialog.locator("#duration-error")).to_have_text("")

    # The server's 422 lands by its field (the body altered on its way: an aspect ratio that
    # only an out-of-date page would send).
    prompt.fill("A square teaser")
    dialog.get_by_label("1:1 (Square)").check()
    page.route(
        "**/api/generations",
        lambda route: (
            route.continue_(post_data='{"prompt": "A square teaser", "aspect_ratio": "4:3"}')
            if route.request.method == "POST"
            else route.fallback()
        ),
    )
    dialog.get_by_role("button", name="Request generation").click()
    expect(dialog.locator("#aspect_ratio-error")).to_have_text("Choose 9:16, 16:9 or 1:1.")
    expect(dialog).to_be_visible()

    # Escape closes it; nothing was requested by any of these.
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert library.http.get("/api/generations").json()["total"] == 0


def test_the_detail_page_shows_live_progress_and_becomes_the_player(
    page: Page, library: Library, worker: Worker, landscape: Path
) -> None:
    prompt = "Slow pan across a rainy neon street"
    item = library.request_generation(prompt, duration=3, aspect_ratio="16:9")
    page.goto(f"/gallery/{item['id']}")
    expect(page.get_by_role("heading", name=prompt)).to_be_visible()
    expect(page.locator("status-badge")).to_have_text("Pending")
    page.evaluate("() => { window.__samePage = true; }")
    calls = api_calls(page)

    lease = worker.claim(item["id"])
    expect(page.locator("status-badge")).to_have_text("Processing")
    assert worker.heartbeat(item["id"], lease, 45).status_code == 200
    expect(page.get_by_text("Being generated: 45% done.")).to_be_visible()
    expect(page.get_by_role("progressbar", name="Generation progress")).to_have_attribute(
        "aria-valuenow", "45"
    )
    expect(page.get_by_role("button", name="Cancel generation")).to_be_visible()

    worker.complete(item["id"], lease, landscape)
    video = page.locator("video-player video")
    expect(video).to_be_visible()
    video.evaluate(
        "v => v.readyState >= 1 || new Promise(r => v.addEventListener('loadedmetadata', r))"
    )
    assert video.evaluate("v => [v.videoWidth, v.videoHeight]") == [320, 180]
    expect(page.get_by_role("link", name="Download")).to_be_visible()
    expect(page.get_by_role("button", name="Delete")).to_be_visible()
    expect(page.locator("status-badge")).to_have_text("Completed")
    expect(announced(page)).to_contain_text(f"{prompt} is ready")
    assert page.evaluate("() => window.__samePage") is True  # no reload
    # No polling: at most the one fetch that follows the stream's opening.
    assert len([call for call in calls if call.startswith("GET /api/generations/")]) <= 1, calls


def test_a_processing_generation_is_cancelled_through_the_delete_dialog(
    page: Page, library: Library, worker: Worker
) -> None:
    prompt = "A lighthouse in a storm, drone shot"
    item = library.request_generation(prompt)
    lease = worker.claim(item["id"])
    assert worker.heartbeat(item["id"], lease, 30).status_code == 200
    page.goto("/gallery")
    expect(card(page, prompt).locator(".progress")).to_contain_text("30% done")
    card(page, prompt).get_by_role("link", name=prompt).click()

    page.get_by_role("button", name="Cancel generation").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Cancel this generation?")
    expect(dialog.get_by_role("button", name="Keep it")).to_be_focused()
    dialog.get_by_role("button", name="Cancel generation").click()

    expect(page).to_have_url(re.compile(r"/gallery$"))
    expect(page.get_by_role("status").filter(has_text="Generation cancelled")).to_be_visible()
    expect(page.get_by_role("heading", name="No videos found")).to_be_visible()
    assert library.item(item["id"]).status_code == 404
    # The worker learns it at its next call and stops.
    assert worker.heartbeat(item["id"], lease, 40).status_code == 410


def test_a_failure_shows_its_reason_and_is_announced(
    page: Page, library: Library, worker: Worker
) -> None:
    prompt = "Close-up of a watch on a wrist, macro"
    page.goto("/gallery")
    expect(page.get_by_role("heading", name="No videos found")).to_be_visible()
    item = library.request_generation(prompt)
    expect(card(page, prompt).locator("status-badge")).to_have_text("Pending")
    lease = worker.claim(item["id"])
    assert worker.heartbeat(item["id"], lease, 10).status_code == 200
    expect(card(page, prompt).locator(".progress")).to_contain_text("10% done")
    reason = "The model refused this prompt: brand logos are not allowed."
    assert worker.fail(item["id"], lease, reason).status_code == 200

    failed = card(page, prompt)
    expect(failed.locator("status-badge")).to_have_text("Failed")
    expect(failed.locator(".problem")).to_have_text(reason)
    expect(failed.locator(".progress")).to_be_hidden()
    expect(announced(page)).to_contain_text(f"{prompt} failed: {reason}")


def test_another_persons_generations_never_show(
    new_context: Callable[..., BrowserContext], library: Library, worker: Worker, server: LiveServer
) -> None:
    stranger = Library.register(server.base_url, server.settings.database_url)
    try:
        context = new_context()
        sign_in(context, library)
        page = context.new_page()
        page.goto("/gallery")
        expect(page.get_by_role("heading", name="No videos found")).to_be_visible()

        theirs = stranger.request_generation("Someone else's secret launch")
        lease = worker.claim(theirs["id"])
        assert worker.heartbeat(theirs["id"], lease, 50).status_code == 200
        worker.complete(theirs["id"], lease, clip(320, 180, 1.0))
        # Ours comes after theirs on the same streams: once it shows, theirs had its chance.
        ours = library.request_generation("Our own quiet teaser")
        expect(card(page, "Our own quiet teaser")).to_be_visible()
        lease = worker.claim(ours["id"])
        worker.complete(ours["id"], lease, clip(320, 180, 1.0))
        expect(announced(page)).to_contain_text("Our own quiet teaser is ready")

        expect(page.locator("video-card")).to_have_count(1)
        assert "secret launch" not in page.locator("gallery-page").inner_text()
        assert "secret launch" not in announced(page).inner_text()
    finally:
        stranger.close()


def test_after_the_stream_is_refused_it_reconnects_and_catches_up(
    page: Page, library: Library
) -> None:
    refused: list[str] = []
    refusing = True

    def events(route: Route) -> None:
        if refusing:
            refused.append(route.request.url)
            route.fulfill(
                status=503,
                json={"status_code": 503, "detail": "Live updates are unavailable"},
                headers={"Retry-After": "1"},
            )
        else:
            route.continue_()

    page.route(f"**{EVENTS}", events)
    page.goto("/gallery")
    expect(page.get_by_role("heading", name="No videos found")).to_be_visible()
    # A refused stream is not retried by EventSource itself: ours makes a new one, with backoff.
    for _ in range(50):
        if len(refused) >= 2:
            break
        page.wait_for_timeout(200)  # lets Playwright run the route handler meanwhile
    assert len(refused) >= 2, refused

    # Made while no stream is open: its event reaches nobody.
    library.request_generation("Made while the stream was down")
    calls = api_calls(page)
    refusing = False
    expect(card(page, "Made while the stream was down")).to_be_visible(timeout=40_000)
    assert any(call.startswith("GET /api/generations?") for call in calls), calls
    expect(card(page, "Made while the stream was down").locator("status-badge")).to_have_text(
        "Pending"
    )


def test_a_session_ended_elsewhere_takes_the_open_gallery_to_sign_in(
    page: Page, library: Library
) -> None:
    page.goto("/gallery")
    expect(page.get_by_role("heading", name="No videos found")).to_be_visible()
    # Signed out from somewhere else with the same session: the stream ends at its next ping,
    # its reconnection is refused (401), and the page asks the person to sign in again.
    assert library.http.post("/api/auth/logout").status_code == 204
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fgallery$"), timeout=20_000)
    expect(
        page.get_by_role("status").filter(has_text="Your session has ended. Sign in again")
    ).to_be_visible()
