"""The gallery's end-to-end journey (tests/browser/test_journey.py) in Chromium through Nginx:
the page and its scripts from Nginx under the CSP of nginx.conf, the API proxied, the cookie
session, and the player's range requests answered by Nginx from the media directory."""

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from tests.browser.conftest import *  # noqa: F403 (the browser fixtures)
from tests.browser.conftest import CHROMIUM_ARGS, CSP
from tests.browser.test_journey import *  # noqa: F403
from tests.deploy.conftest import Stack
from tests.deploy.test_nginx import SECURITY_HEADERS


@pytest.fixture(scope="session")
def server(stack: Stack) -> SimpleNamespace:
    """What the browser fixtures take for the app: here, Nginx in front of it."""
    return SimpleNamespace(base_url=stack.base_url, settings=stack.settings)


# Module scope here (package scope in tests/browser/): a running sync Playwright marks its loop
# as the thread's running one, which would stop the async tests of tests/deploy/ after this.
@pytest.fixture(scope="module")
def playwright(chromium: Path) -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright, chromium: Path) -> Iterator[Browser]:
    instance = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
    yield instance
    instance.close()


def test_the_browser_harness_adds_the_very_csp_nginx_sends() -> None:
    # The harness puts its CSP on every page (the embedded server sends none); behind Nginx
    # it replaces the header with the same value, so the journey runs under Nginx's policy.
    assert SECURITY_HEADERS["content-security-policy"] == CSP
