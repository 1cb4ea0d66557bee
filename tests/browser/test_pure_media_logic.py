"""The pure modules behind imports, previews and the player's keys, imported as ES modules into
a real page (as in test_pure_logic.py)."""

from __future__ import annotations

import math

import pytest
from playwright.sync_api import Page

pytestmark = pytest.mark.browser

STORYBOARD = (
    "\ufeffWEBVTT - seek previews\r\n"
    "\r\n"
    "NOTE made at import\r\n"
    "\r\n"
    "1\r\n"
    "00:00.000 --> 00:02.000\r\n"
    "sprite.jpg?v=7#xywh=0,0,160,90\r\n"
    "\r\n"
    "00:02.000 --> 00:04.000 align:start\r\n"
    "/api/storyboard/abc/sprite.jpg?v=7#xywh=160,0,160,90\r\n"
    "\r\n"
    "00:04.000 --> 00:03.000\r\n"
    "sprite.jpg#xywh=320,0,160,90\r\n"
    "\r\n"
    "00:06.000 --> 00:08.000\r\n"
    "https://elsewhere.example/sprite.jpg#xywh=0,90,160,90\r\n"
    "\r\n"
    "00:08.000 --> 00:10.000\r\n"
    "sprite.jpg#xywh=0,90,0,90\r\n"
    "\r\n"
    "1:00:04.000 --> 1:00:06.500\r\n"
    "sprite.jpg#xywh=pixel:480,90,160,90\r\n"
    "\r\n"
    "00:04.000 --> 00:06.000\r\n"
    "sprite.jpg#xywh=320,90,160,90\r\n"
)


@pytest.fixture
def blank(page: Page) -> Page:
    page.goto("/login")
    return page


def test_a_storyboard_parses_into_tiles_in_time_order(blank: Page) -> None:
    result = blank.evaluate(
        """async (text) => {
          const s = await import('/js/lib/storyboard.js');
          const base = location.origin + '/api/storyboard/abc';
          const cues = s.parseStoryboard(text, base);
          return {
            cues,
            notVtt: s.parseStoryboard('hello\\n00:00.000 --> 00:01.000\\nx.jpg#xywh=0,0,1,1', base),
            empty: s.parseStoryboard('', base),
            stamps: ['00:01.250', '1:02:03.004', '61:00.000', '00:1.000', 'x']
              .map(s.parseTimestamp),
            at: [-1, 0, 1.99, 2, 5, 3605, 99999].map((t) => s.cueAt(cues, t)?.start ?? null),
            none: s.cueAt([], 3),
          };
        }""",
        STORYBOARD,
    )
    # The reversed cue, the foreign image and the empty tile are left out; the rest sorted.
    assert result["cues"] == [
        {
            "start": 0,
            "end": 2,
            "url": "/api/storyboard/sprite.jpg?v=7",
            "x": 0,
            "y": 0,
            "w": 160,
            "h": 90,
        },
        {
            "start": 2,
            "end": 4,
            "url": "/api/storyboard/abc/sprite.jpg?v=7",
            "x": 160,
            "y": 0,
            "w": 160,
            "h": 90,
        },
        {
            "start": 4,
            "end": 6,
            "url": "/api/storyboard/sprite.jpg",
            "x": 320,
            "y": 90,
            "w": 160,
            "h": 90,
        },
        {
            "start": 3604,
            "end": 3606.5,
            "url": "/api/storyboard/sprite.jpg",
            "x": 480,
            "y": 90,
            "w": 160,
            "h": 90,
        },
    ]
    assert result["notVtt"] == [] and result["empty"] == []
    stamps = result["stamps"]
    assert stamps[:2] == [1.25, 3723.004]
    assert all(math.isnan(value) for value in stamps[2:])
    assert result["at"] == [0, 0, 0, 2, 4, 3604, 3604]
    assert result["none"] is None


def test_the_filmstrip_spreads_its_tiles_and_never_enlarges_one(blank: Page) -> None:
    result = blank.evaluate(
        """async () => {
          const s = await import('/js/lib/storyboard.js');
          const cues = Array.from({ length: 31 }, (_, i) => ({ start: i, end: i + 1 }));
          return {
            ten: s.filmstrip(cues, 10).map((cue) => cue.start),
            few: s.filmstrip(cues.slice(0, 4), 10).map((cue) => cue.start),
            one: s.filmstrip(cues, 1).map((cue) => cue.start),
            wide: s.tileBox({ w: 160, h: 90 }, 72),
            tall: s.tileBox({ w: 90, h: 160 }, 80),
            small: s.tileBox({ w: 64, h: 36 }, 72),
          };
        }"""
    )
    assert result["ten"] == [0, 3, 7, 10, 13, 17, 20, 23, 27, 30]
    assert result["few"] == [0, 1, 2, 3]
    assert result["one"] == [0]
    assert result["wide"] == {"width": 128, "height": 72, "scale": 0.8}
    assert result["tall"] == {"width": 45, "height": 80, "scale": 0.5}
    assert result["small"] == {"width": 64, "height": 36, "scale": 1}


def test_player_keys_never_fire_while_typing_or_with_modifiers(blank: Page) -> None:
    result = blank.evaluate(
        """async () => {
          const k = await import('/js/lib/player-keys.js');
          const act = (key, mods = {}) => k.keyAction({ key, ...mods });
          const takes = (target, key) => k.targetTakesKey(target, key);
          return {
            plain: ['k', ' ', 'j', 'l', 'ArrowLeft', 'ArrowRight', 'f', 'm', '?', 'K', 'x', 'Enter']
              .map((key) => act(key)),
            modified: [act('k', { ctrlKey: true }), act('f', { metaKey: true }),
                       act('ArrowLeft', { altKey: true }), act('L', { shiftKey: true }),
                       act('?', { shiftKey: true }), act('?', { ctrlKey: true })],
            typing: [
              takes({ localName: 'input', type: 'search' }, 'k'),
              takes({ localName: 'input' }, 'ArrowLeft'),
              takes({ localName: 'textarea' }, 'm'),
              takes({ localName: 'div', isContentEditable: true }, 'f'),
              takes({ localName: 'select' }, 'ArrowRight'),
              takes({ localName: 'input', type: 'range' }, 'ArrowRight'),
            ],
            space: [
              takes({ localName: 'button' }, ' '),
              takes({ localName: 'a' }, ' '),
              takes({ localName: 'input', type: 'checkbox' }, ' '),
              takes({ localName: 'div', role: 'button' }, ' '),
            ],
            free: [
              takes({ localName: 'button' }, 'k'),
              takes({ localName: 'input', type: 'checkbox' }, 'j'),
              takes({ localName: 'video' }, ' '),
              takes({ localName: 'body' }, 'ArrowLeft'),
              takes(null, 'k'),
            ],
            listed: k.SHORTCUTS.map((row) => row.keys.join(' ')),
          };
        }"""
    )
    toggle, seek, fullscreen, mute, help_ = (
        {"type": "toggle"},
        lambda by: {"type": "seek", "by": by},
        {"type": "fullscreen"},
        {"type": "mute"},
        {"type": "help"},
    )
    assert result["plain"] == [
        toggle,
        toggle,
        seek(-10),
        seek(10),
        seek(-5),
        seek(5),
        fullscreen,
        mute,
        help_,
        toggle,  # caps lock
        None,
        None,
    ]
    assert result["modified"] == [None, None, None, None, help_, None]
    assert result["typing"] == [True] * 6
    assert result["space"] == [True] * 4
    assert result["free"] == [False] * 5
    assert result["listed"] == ["k Space", "j", "l", "←", "→", "f", "m", "?"]


QUOTA = (
    "The file exceeds your storage quota: 1.0 MB of 5.0 MB are free. Delete videos to make room."
)


def test_imports_are_checked_and_their_refusals_put_in_words(blank: Page) -> None:
    result = blank.evaluate(
        """async (quota) => {
          const u = await import('/js/lib/uploads.js');
          const entry = (state, notBefore = 0) => ({ state, notBefore });
          const starts = (list, limit = 2) => u.uploadsToStart(list, { now: 10, limit }).length;
          return {
            prompts: ['sneaker_launch-v2.final.mp4', 'IMG 0042.MOV', '  spaced   out .webm',
                      'no-extension', '.mp4', 'x'.repeat(2100) + '.mkv']
              .map((name) => u.promptFromFileName(name).slice(0, 40)),
            longName: u.promptFromFileName('x'.repeat(2100) + '.mkv').length,
            promptProblems: ['', '   ', 'ok', 'a\\u0000b', 'x'.repeat(2000), 'x'.repeat(2001),
                             '\\u{1F3AC}'.repeat(2000)].map(u.promptProblem),
            fileProblems: [
              { name: 'a.mp4', type: 'video/mp4', size: 10 },
              { name: 'A.MOV', type: '', size: 10 },
              { name: 'clip', type: 'video/webm', size: 10 },
              { name: 'notes.txt', type: 'text/plain', size: 10 },
              { name: 'empty.mp4', type: 'video/mp4', size: 0 },
            ].map(u.fileProblem),
            messages: [
              { status: 0 }, { status: 413, detail: quota },
              { status: 413, detail: 'The file is larger than the maximum upload size' },
              { status: 415, detail: 'The file is not a video.' }, { status: 408, detail: 'x' },
              { status: 422, detail: 'Validation failed for prompt' }, { status: 503, detail: 'x' },
              { status: 409, detail: 'Conflict' }, undefined,
            ].map(u.uploadErrorMessage),
            delays: [3, null, 0.2, 600].map((seconds) => u.retryDelay({ retryAfter: seconds })),
            start: [
              starts([entry('uploading'), entry('queued'), entry('queued')]),
              starts([entry('done'), entry('queued'), entry('queued'), entry('queued')]),
              starts([entry('queued', 20), entry('queued')]),
              starts([entry('uploading'), entry('uploading'), entry('queued')]),
              starts([entry('queued', 5)], 1),
            ],
          };
        }""",
        QUOTA,
    )
    assert result["prompts"] == [
        "sneaker launch v2 final",
        "IMG 0042",
        "spaced out",
        "no extension",
        "",
        "x" * 40,
    ]
    assert result["longName"] == 2000
    empty = "Write the prompt the video was generated from."
    long_ = "The prompt is too long. Keep it to 2,000 characters or fewer."
    assert result["promptProblems"] == [
        empty,
        empty,
        None,
        "The prompt cannot contain NUL characters.",
        None,
        long_,
        None,  # 2,000 characters, each two UTF-16 units
    ]
    not_video = "This is not a video file. Choose an MP4, MOV, WebM or MKV video."
    assert result["fileProblems"] == [
        None,
        None,
        None,
        not_video,
        "This file is empty. Choose a video file.",
    ]
    assert result["messages"] == [
        "The upload did not reach the server. Check your connection and try again.",
        QUOTA,
        "The file is larger than the maximum upload size.",
        "The file is not a video.",
        "The upload stalled and was stopped. Try again.",
        "The server refused the prompt. Edit it, then import the file again.",
        "Something went wrong on the server (error 503). Try again in a moment.",
        "The video could not be imported: Conflict.",
        "The video could not be imported. Try again.",
    ]
    assert result["delays"] == [3000, 5000, 1000, 60000]
    assert result["start"] == [1, 2, 1, 0, 1]
