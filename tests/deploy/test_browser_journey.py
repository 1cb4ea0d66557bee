"""The gallery's end-to-end journey (tests/browser/test_journey.py) in Chromium through Nginx:
the page and its scripts from Nginx under the CSP of nginx.conf, the API proxied, the cookie
session, and the player's range requests answered by Nginx from the media directory."""

from types import SimpleNamespace

import pytest

from tests.browser.conftest import *  # noqa: F403 (the browser fixtures)
from tests.browser.conftest import CSP
from tests.browser.test_journey import *  # noqa: F403
from tests.deploy.conftest import Stack
from tests.deploy.test_nginx import SECURITY_HEADERS


@pytest.fixture(scope="session")
def server(stack: Stack) -> SimpleNamespace:
    """What the browser fixtures take for the app: here, Nginx in front of it."""
    return SimpleNamespace(base_url=stack.base_url, settings=stack.settings)


def test_the_browser_harness_adds_the_very_csp_nginx_sends() -> None:
    # The harness puts its CSP on every page (the embedded server sends none); behind Nginx
    # it replaces the header with the same value, so the journey runs under Nginx's policy.
    assert SECURITY_HEADERS["content-security-policy"] == CSP
