"""The live events stream as Chromium's own EventSource uses it: the HttpOnly session cookie of
the same origin opens it, events arrive as typed messages, and once the session has ended the
stream ends and the reconnect's 401 closes the EventSource for good (no retry loop)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from playwright.sync_api import Page

from tests.browser.helpers import Library
from tests.support.servers import LiveServer

OPEN = """() => new Promise((resolve, reject) => {
  const source = new EventSource("/api/generations/events");
  window.received = [];
  window.source = source;
  for (const kind of ["generation", "deleted"]) {
    source.addEventListener(kind, (e) => window.received.push([kind, e.data, e.lastEventId]));
  }
  source.onopen = () => resolve(source.readyState);
  setTimeout(() => reject(new Error("no open")), 10000);
})"""


def wait_until(page: Page, predicate: str, within: float) -> None:
    # Polled from here: the page's CSP forbids the string evaluation wait_for_function uses.
    deadline = time.monotonic() + within
    while not page.evaluate(predicate):
        assert time.monotonic() < deadline, predicate
        time.sleep(0.1)


def test_event_source_with_the_cookie_gets_events_and_a_401_closes_it(
    page: Page, server: LiveServer, library: Library, clips: dict[str, Path]
) -> None:
    page.goto(f"{server.base_url}/health/live")
    assert page.evaluate(OPEN) == 1  # OPEN
    item = library.import_clip(clips["1:1"], "Seen by an EventSource")
    wait_until(page, "() => window.received.length >= 1", 10)
    kind, data, last_id = page.evaluate("window.received[0]")
    assert kind == "generation" and last_id
    assert json.loads(data)["id"] == item["id"]

    library.http.delete(f"/api/generations/{item['id']}").raise_for_status()
    wait_until(page, "() => window.received.length >= 2", 10)
    assert page.evaluate("window.received[1][0]") == "deleted"

    # Sign out: the stream ends at its next ping, the reconnect is a 401, and EventSource
    # gives up (readyState CLOSED) instead of retrying forever.
    assert library.http.post("/api/auth/logout").status_code == 204
    wait_until(page, "() => window.source.readyState === 2", 30)
