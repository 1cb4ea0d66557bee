"""The gallery's pure JavaScript modules, imported as ES modules into a real page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

pytestmark = pytest.mark.browser


@pytest.fixture
def blank(page: Page) -> Page:
    # Any page of the app will do: the modules are imported from its origin.
    page.goto("/login")
    return page


def test_gallery_query_round_trips_through_the_url(blank: Page) -> None:
    result = blank.evaluate(
        """async () => {
          const q = await import('/js/lib/query.js');
          return {
            read: q.readGalleryQuery('?status=failed&q=%20red%20car%20'),
            unknownStatus: q.readGalleryQuery('?status=deleted&q=x'),
            empty: q.gallerySearch({status: '', q: '   '}),
            both: q.gallerySearch({status: 'completed', q: '50% off & more'}),
            firstPage: q.listingParams({status: 'processing', q: 'a_b'}).toString(),
            nextPage: q.listingParams({q: 'a_b'}, {cursor: 'k+/=', limit: 5}).toString(),
            longQuery: q.readGalleryQuery('?q=' + 'x'.repeat(600)).q.length,
          };
        }"""
    )
    assert result["read"] == {"status": "failed", "q": "red car"}
    assert result["unknownStatus"] == {"status": "", "q": "x"}
    assert result["empty"] == ""
    assert result["both"] == "?status=completed&q=50%25+off+%26+more"
    assert result["firstPage"] == "limit=20&status=processing&q=a_b"
    # The cursor goes back as the API gave it (encoded), never beside an offset.
    assert result["nextPage"] == "limit=5&q=a_b&cursor=k%2B%2F%3D"
    assert result["longQuery"] == 500


def test_cost_date_duration_and_size_follow_the_locale(blank: Page) -> None:
    result = blank.evaluate(
        """async () => {
          const f = await import('/js/lib/format.js');
          const at = '2025-11-14T10:30:00Z';
          return {
            usd: f.formatCost(1.87, 'en-US'),
            usdGerman: f.formatCost(1.87, 'de-DE'),
            noCost: f.formatCost(null, 'en-US'),
            dateUs: f.formatDate(at, 'en-US', 'UTC'),
            dateGb: f.formatDate(at, 'en-GB', 'UTC'),
            dateDe: f.formatDate(at, 'de-DE', 'Europe/Berlin'),
            durations: [f.formatDuration(8), f.formatDuration(75), f.formatDuration(3725)],
            sizes: [f.formatBytes(512, 'en-US'), f.formatBytes(169561, 'en-US'),
                    f.formatBytes(2500000, 'de-DE')],
            dims: [f.formatDimensions(360, 640), f.formatDimensions(1920, 1080),
                   f.formatDimensions(480, 480), f.formatDimensions(null, 480)],
          };
        }"""
    )
    assert result["usd"] == "$1.87"
    assert result["usdGerman"].replace("\u00a0", " ") == "1,87 $"
    assert result["noCost"] == "—"
    assert result["dateUs"].replace("\u202f", " ") == "Nov 14, 2025, 10:30 AM"
    assert result["dateGb"] == "14 Nov 2025, 10:30"
    assert result["dateDe"] == "14.11.2025, 11:30"
    assert result["durations"] == ["0:08", "1:15", "1:02:05"]
    assert [size.replace("\u00a0", " ") for size in result["sizes"]] == [
        "512 bytes",
        "169.6 kB",
        "2,5 MB",
    ]
    times = "\u00d7"
    assert result["dims"] == [
        f"360 {times} 640 (9:16)",
        f"1920 {times} 1080 (16:9)",
        f"480 {times} 480 (1:1)",
        "—",
    ]


def test_debounce_waits_for_quiet_and_can_flush_or_cancel(blank: Page) -> None:
    result = blank.evaluate(
        """async () => {
          const { debounce } = await import('/js/lib/debounce.js');
          const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
          const calls = [];
          const typed = debounce((value) => calls.push(value), 300);
          typed('r'); await sleep(100); typed('re'); await sleep(100); typed('red');
          await sleep(200);
          const beforeQuiet = [...calls];
          await sleep(200);
          const afterQuiet = [...calls];
          typed('blue'); typed.flush();
          const flushed = [...calls];
          typed('green'); typed.cancel(); await sleep(400);
          return { beforeQuiet, afterQuiet, flushed, final: calls };
        }"""
    )
    assert result["beforeQuiet"] == []
    assert result["afterQuiet"] == ["red"]
    assert result["flushed"] == ["red", "blue"]
    assert result["final"] == ["red", "blue"]


def test_html_tag_escapes_everything_it_did_not_make(blank: Page) -> None:
    result = blank.evaluate(
        """async () => {
          const { html, render } = await import('/js/lib/html.js');
          const evil = '<img src=x onerror="alert(1)">&\\'';
          const inner = html`<b>${evil}</b>`;
          const outer = html`<p title="${evil}">${inner}${[html`<i>1</i>`, '<i>2</i>']}</p>`;
          const target = document.createElement('div');
          render(target, outer);
          let refused = false;
          try { render(target, '<p>raw</p>'); }
          catch (error) { refused = error instanceof TypeError; }
          return { markup: outer.toString(), images: target.querySelectorAll('img').length,
                   title: target.firstChild.title, refused };
        }"""
    )
    assert result["images"] == 0
    assert result["title"] == '<img src=x onerror="alert(1)">&\''
    assert "<b>&lt;img" in result["markup"]
    assert "<i>1</i>&lt;i&gt;2&lt;/i&gt;" in result["markup"]
    assert result["refused"] is True


def test_router_matches_the_client_routes(blank: Page) -> None:
    result = blank.evaluate(
        """async () => {
          const { matchRoute } = await import('/js/lib/router.js');
          const routes = [
            { name: 'gallery', path: '/gallery' },
            { name: 'video', path: '/gallery/:id' },
          ];
          return ['/gallery', '/gallery/', '/gallery/abc-123', '/gallery/a/b', '/galleryx', '/']
            .map((path) => matchRoute(routes, path));
        }"""
    )
    assert result == [
        {"name": "gallery", "params": {}},
        {"name": "gallery", "params": {}},
        {"name": "video", "params": {"id": "abc-123"}},
        None,
        None,
        None,
    ]


def test_api_errors_become_plain_words(blank: Page) -> None:
    result = blank.evaluate(
        """async () => {
          const m = await import('/js/lib/messages.js');
          const error = (status, detail, extra = null) => ({ status, detail, extra });
          return {
            shortPassword: m.credentialErrors(error(422, 'Validation failed',
              [{ key: 'password', message: 'Expected `str` of length >= 8', source: 'body' }])),
            badEmail: m.credentialErrors(error(422, 'Validation failed',
              [{ key: 'email', message: "Expected `str` matching regex '...'", source: 'body' }])),
            taken: m.credentialErrors(error(409, 'An account with this e-mail already exists')),
            wrong: m.credentialErrors(error(401, 'Incorrect e-mail or password')),
            offline: m.credentialErrors(error(0, 'The server could not be reached.')),
            tooBig: m.importErrors(error(413, 'The file is larger than the maximum upload size')),
            notVideo: m.importErrors(error(415, 'The file is not a video.')),
            noPrompt: m.importErrors(error(422, 'The prompt is required')),
            longPrompt: m.importErrors(
              error(422, 'The prompt must be at most 2000 characters long')),
            crashed: m.loadErrorMessage(error(503, 'Service Unavailable')),
          };
        }"""
    )
    assert result["shortPassword"] == {"password": "Use at least 8 characters."}
    assert result["badEmail"] == {"email": "Enter an e-mail address like name@example.com."}
    assert result["taken"] == {"email": "An account with this e-mail already exists"}
    assert result["wrong"] == {"form": "Incorrect e-mail or password"}
    assert "could not be reached" in result["offline"]["form"]
    assert result["tooBig"] == {
        "file": "This file is too large to import. Choose a smaller video file."
    }
    assert "not a video that can be played" in result["notVideo"]["file"]
    assert result["noPrompt"] == {"prompt": "Write the prompt the video was generated from."}
    assert "2,000 characters" in result["longPrompt"]["prompt"]
    assert "error 503" in result["crashed"]
