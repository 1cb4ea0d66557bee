"""The harness itself can fail: pages really run under the deployment's CSP, and a violation
is caught."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import CSP

pytestmark = pytest.mark.browser


def test_pages_run_under_the_csp_and_violations_are_reported(
    page: Page, page_problems: list[str]
) -> None:
    response = page.goto("/gallery")
    assert response is not None
    assert response.headers["content-security-policy"] == CSP
    page.get_by_role("heading", name="Your videos").wait_for()
    ran = page.evaluate(
        """() => {
          const script = document.createElement('script');
          script.textContent = 'window.__inline = true';
          document.body.append(script);
          return window.__inline === true;
        }"""
    )
    assert ran is False
    page.wait_for_timeout(100)
    assert any("Content Security Policy" in problem for problem in page_problems)
    page_problems.clear()  # expected here; anywhere else it fails the test
