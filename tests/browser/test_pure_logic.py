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
    assert result["read"] == {"status": "failed", "q": "red car", "sort": "newest"}
    assert result["unknownStatus"] == {"status": "", "q": "x", "sort": "newest"}
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
    assert result["taken"] == {"email": "An account with this e-mail already exists."}
    assert result["wrong"] == {"form": "Incorrect e-mail or password."}
    assert "could not be reached" in result["offline"]["form"]
    assert result["tooBig"] == {
        "file": "This file is too large to import. Choose a smaller video file."
    }
    assert "not a video that can be played" in result["notVideo"]["file"]
    assert result["noPrompt"] == {"prompt": "Write the prompt the video was generated from."}
    assert "2,000 characters" in result["longPrompt"]["prompt"]
    assert "error 503" in result["crashed"]


def test_a_live_event_moves_a_card_through_its_life(blank: Page) -> None:
    result = blank.evaluate(
        """async () => {
          const { applyEvent } = await import('/js/lib/live-list.js');
          const at = (minute) => `2026-01-01T10:${String(minute).padStart(2, '0')}:00Z`;
          const item = (id, minute, fields = {}) => ({ id, prompt: `Ad ${id}`, status: 'completed',
            created_at: at(minute), attempts: 0, progress: null, ...fields });
          const all = { status: '', q: '' };
          const start = { items: [item('b', 20), item('a', 10)], total: 2, nextCursor: null };
          const steps = {};
          let state = applyEvent(start, { type: 'generation',
            item: item('c', 30, { status: 'pending', progress: 0 }) }, all);
          steps.created = [state.items.map((i) => i.id), state.total];
          const asBefore = state;
          state = applyEvent(state, { type: 'generation',
            item: item('c', 30, { status: 'processing', progress: 40, attempts: 1 }) }, all);
          steps.progress = [state.items[0].status, state.items[0].progress, state.total];
          // An older event arriving late changes nothing.
          const late = applyEvent(state, { type: 'generation',
            item: item('c', 30, { status: 'processing', progress: 10, attempts: 1 }) }, all);
          steps.lateIsIgnored = late === state;
          state = applyEvent(state, { type: 'generation',
            item: item('c', 30, { status: 'completed', attempts: 1 }) }, all);
          steps.completed = state.items[0].status;
          const regress = applyEvent(state, { type: 'generation',
            item: item('c', 30, { status: 'processing', progress: 90, attempts: 1 }) }, all);
          steps.finishedStaysFinished = regress === state;
          state = applyEvent(state, { type: 'deleted', generation_id: 'c' }, all);
          steps.deleted = [state.items.map((i) => i.id), state.total];
          const unknown = applyEvent(state, { type: 'deleted', generation_id: 'zzz' }, all);
          steps.unknownDeleteIsIgnored = unknown === state;
          steps.untouched = asBefore.items[0].status;
          return steps;
        }"""
    )
    assert result["created"] == [["c", "b", "a"], 3]
    assert result["progress"] == ["processing", 40, 3]
    assert result["lateIsIgnored"] is True
    assert result["completed"] == "completed"
    assert result["finishedStaysFinished"] is True
    assert result["deleted"] == [["b", "a"], 2]
    assert result["unknownDeleteIsIgnored"] is True
    # The reducer never changes the state it was given.
    assert result["untouched"] == "pending"


def test_live_events_respect_the_filters_and_the_pages_not_loaded(blank: Page) -> None:
    result = blank.evaluate(
        """async () => {
          const { applyEvent, matchesQuery } = await import('/js/lib/live-list.js');
          const at = (minute) => `2026-01-01T10:${String(minute).padStart(2, '0')}:00Z`;
          const item = (id, minute, fields = {}) => ({ id, prompt: `Ad ${id}`, status: 'processing',
            created_at: at(minute), attempts: 1, progress: 10, ...fields });
          const processing = { status: 'processing', q: '' };
          const start = { items: [item('d', 40), item('c', 30)], total: 5, nextCursor: 'more' };
          // Completing leaves the "processing" filter: the card goes, the count follows.
          const done = applyEvent(start, { type: 'generation',
            item: item('d', 40, { status: 'completed' }) }, processing);
          // One older than the last card shown belongs to a page not fetched yet.
          const older = applyEvent(start, { type: 'generation', item: item('a', 5) }, processing);
          // One that enters the filter inside the loaded range takes its place in the order.
          const between = applyEvent(start, { type: 'generation', item: item('x', 35) },
            processing);
          // Same minute: the id breaks the tie, descending, as the listing does.
          const tie = applyEvent(start, { type: 'generation', item: item('e', 40) }, processing);
          const other = applyEvent(start, { type: 'generation',
            item: item('p', 50, { status: 'pending' }) }, processing);
          const search = { status: '', q: 'RED_' };
          return {
            done: [done.items.map((i) => i.id), done.total],
            olderIgnored: older === start,
            between: between.items.map((i) => i.id),
            tie: tie.items.map((i) => i.id),
            otherStatusIgnored: other === start,
            matches: [matchesQuery({ status: 'failed', prompt: 'A red_car' }, search),
                      matchesQuery({ status: 'failed', prompt: 'A red car' }, search)],
          };
        }"""
    )
    assert result["done"] == [["c"], 4]
    assert result["olderIgnored"] is True
    assert result["between"] == ["d", "x", "c"]
    assert result["tie"] == ["e", "d", "c"]
    assert result["otherStatusIgnored"] is True
    assert result["matches"] == [True, False]


def test_a_refetched_first_page_replaces_what_it_covers(blank: Page) -> None:
    result = blank.evaluate(
        """async () => {
          const { mergeFirstPage } = await import('/js/lib/live-list.js');
          const item = (id, minute, status = 'completed') => ({ id, prompt: id, status,
            created_at: `2026-01-01T10:${String(minute).padStart(2, '0')}:00Z` });
          // Three pages of two were loaded: f e | d c | b a (and more after).
          const shown = { items: [item('f', 6, 'pending'), item('e', 5), item('d', 4), item('c', 3),
                                  item('b', 2), item('a', 1)], total: 9, nextCursor: 'after-a' };
          // Meanwhile g was made, e deleted, f completed.
          const fresh = { generations: [item('g', 7), item('f', 6), item('d', 4)], total: 9,
                          next_cursor: 'after-d' };
          const merged = mergeFirstPage(shown, fresh);
          // Only one page was loaded: the fresh page's cursor goes on from it.
          const one = mergeFirstPage({ items: [item('f', 6), item('e', 5)], total: 2,
                                       nextCursor: 'after-e' }, fresh);
          const last = mergeFirstPage(shown, { generations: [item('g', 7)], total: 1,
                                               next_cursor: null });
          return {
            ids: merged.items.map((i) => i.id), status: merged.items[1].status,
            cursor: merged.nextCursor, total: merged.total,
            one: [one.items.map((i) => i.id), one.nextCursor],
            last: [last.items.map((i) => i.id), last.nextCursor, last.total],
          };
        }"""
    )
    # The fresh page covers g..d: e is gone; the pages after it stay, and so does their cursor.
    assert result["ids"] == ["g", "f", "d", "c", "b", "a"]
    assert result["status"] == "completed"
    assert result["cursor"] == "after-a"
    assert result["total"] == 9
    assert result["one"] == [["g", "f", "d"], "after-d"]
    assert result["last"] == [["g"], None, 1]


def test_the_generation_form_follows_the_contract(blank: Page) -> None:
    result = blank.evaluate(
        """async () => {
          const g = await import('/js/lib/generation-request.js');
          const v = (prompt, duration, aspectRatio) =>
            g.validateGenerationRequest({ prompt, duration, aspectRatio });
          const emoji = '\\u{1F3AC}';
          return {
            good: v('  A red car at dusk  ', '15', '9:16'),
            edges: [v('x', '1', '1:1').errors, v('x', '60', '16:9').errors,
                    v('y'.repeat(2000), '15', '9:16').errors],
            // 2000 emoji are 4000 UTF-16 units but 2000 characters, as the server counts.
            emoji: v(emoji.repeat(2000), '15', '9:16').errors,
            tooLong: v('y'.repeat(2001), '15', '9:16').errors,
            blank: v('   ', '15', '9:16').errors,
            nul: v('a\\u0000b', '15', '9:16').errors,
            durations: ['0', '61', '1.5', '', 'ten', '-3', '1e1'].map(
              (d) => Object.keys(v('x', d, '9:16').errors)),
            ratios: ['4:3', '', '9:16 '].map((r) => Object.keys(v('x', '5', r).errors)),
            clipped: [g.clipPrompt('Short one'),
                      g.clipPrompt('A slow dolly shot over a neon city at night with rain '
                                   + 'on the lens and reflections', 40),
                      g.clipPrompt('x'.repeat(80), 10)],
          };
        }"""
    )
    assert result["good"] == {
        "request": {"prompt": "A red car at dusk", "duration": 15, "aspect_ratio": "9:16"},
        "errors": {},
    }
    assert result["edges"] == [{}, {}, {}]
    assert result["emoji"] == {}
    assert "2,001 characters" in result["tooLong"]["prompt"]
    assert result["blank"] == {"prompt": "Write a prompt: what should the video show?"}
    assert result["nul"] == {"prompt": "The prompt cannot contain NUL characters."}
    assert result["durations"] == [["duration"]] * 7
    assert result["ratios"] == [["aspect_ratio"]] * 3
    assert result["clipped"] == [
        "Short one",
        "A slow dolly shot over a neon city at…",
        "xxxxxxxxxx…",
    ]


def test_announcements_only_for_a_requested_generation_that_finishes(blank: Page) -> None:
    result = blank.evaluate(
        """async () => {
          const { announcement } = await import('/js/lib/generation-request.js');
          const made = (status, fields = {}) => ({ id: 'g', prompt: 'Sunset over the bay',
            status, aspect_ratio: '9:16', attempts: 1, error: null, ...fields });
          const imported = { id: 'i', prompt: 'Imported', status: 'completed',
            aspect_ratio: null, attempts: 0 };
          return [
            announcement('processing', made('completed')),
            announcement(undefined, made('completed')),
            announcement('processing',
                         made('failed', { error: 'The generator stopped responding' })),
            announcement('pending', made('processing')),
            announcement('completed', made('completed')),
            announcement(undefined, imported),
          ];
        }"""
    )
    assert result == [
        "Sunset over the bay is ready.",
        "Sunset over the bay is ready.",
        "Sunset over the bay failed: The generator stopped responding.",
        None,
        None,
        None,
    ]


def test_reconnect_delays_grow_with_jitter_and_a_cap(blank: Page) -> None:
    result = blank.evaluate(
        """async () => {
          const { backoffDelay, parseEvent } = await import('/js/lib/live.js');
          const low = () => 0;
          const high = () => 0.999999;
          return {
            low: [0, 1, 2, 3, 10, 1000].map((n) => backoffDelay(n, { random: low })),
            high: [0, 1, 2, 3, 10].map((n) => backoffDelay(n, { random: high })),
            parsed: [parseEvent('generation', '{"id":"a","status":"pending"}')?.id,
                     parseEvent('generation', 'not json'), parseEvent('generation', '[1]'),
                     parseEvent('deleted', '{"generation_id":"a"}')?.generation_id,
                     parseEvent('deleted', '{"id":"a"}')],
          };
        }"""
    )
    assert result["low"] == [500, 1000, 2000, 4000, 15000, 15000]
    assert result["high"] == [1000, 2000, 4000, 8000, 30000]
    assert result["parsed"] == ["a", None, None, "a", None]


def test_generation_refusals_land_next_to_their_field(blank: Page) -> None:
    result = blank.evaluate(
        """async () => {
          const m = await import('/js/lib/messages.js');
          const error = (status, detail, extra = null) => ({ status, detail, extra });
          const field = (key, message) => error(422, 'Validation failed',
            [{ key, message, source: 'body' }]);
          return {
            long: m.generationRequestErrors(field('prompt', 'Expected `str` of length <= 2000')),
            duration: m.generationRequestErrors(field('duration', 'Expected `int` <= 60')),
            ratio: m.generationRequestErrors(field('aspect_ratio', "Invalid enum value '4:3'")),
            blank: m.generationRequestErrors(error(422, 'The prompt is required')),
            other: m.generationRequestErrors(error(422, 'Validation failed',
              [{ key: 'status', message: 'unknown field', source: 'body' }])),
            offline: m.generationRequestErrors(error(0, 'x')),
            crash: m.generationRequestErrors(error(500, 'Internal Server Error')),
          };
        }"""
    )
    assert result["long"] == {
        "prompt": "The prompt is too long. Keep it to 2,000 characters or fewer."
    }
    assert result["duration"] == {"duration": "Choose a whole number of seconds from 1 to 60."}
    assert result["ratio"] == {"aspect_ratio": "Choose 9:16, 16:9 or 1:1."}
    assert result["blank"] == {"prompt": "Write a prompt: what should the video show?"}
    assert result["other"] == {"form": "The generation could not be requested: Validation failed."}
    assert "did not reach the server" in result["offline"]["form"]
    assert "error 500" in result["crash"]["form"]
