"""A wrong address in the browser: a real "Page not found" page (status 404 from the server)
with the way back to the videos, signed in or not; never raw JSON, never a silent redirect."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.screens import shoot

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("address", ["/nope", "/gallery/x/y"])
def test_a_wrong_address_shows_page_not_found_with_a_way_back(
    page: Page, address: str, artifacts: Path
) -> None:
    answer = page.goto(address)
    assert answer is not None and answer.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page).to_have_title("Page not found · reelvault")
    expect(page.get_by_text(address, exact=True)).to_be_visible()
    if address == "/nope":
        shoot(page, artifacts, "not-found", full_page=False)
    page.get_by_role("link", name="Go to your videos").click()
    expect(page.get_by_role("heading", name="Your videos")).to_be_visible()


def test_a_signed_out_person_sees_it_too_and_the_way_back_leads_to_sign_in(
    new_context: Callable[..., BrowserContext],
) -> None:
    page = new_context().new_page()
    answer = page.goto("/no/such/page")
    assert answer is not None and answer.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    page.get_by_role("link", name="Go to your videos").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_an_unknown_route_reached_inside_the_app_shows_the_same_view(page: Page) -> None:
    page.goto("/gallery")
    expect(page.get_by_role("heading", name="Your videos")).to_be_visible()
    page.evaluate(
        """() => document.querySelector('main').dispatchEvent(new CustomEvent('navigate',
             { bubbles: true, composed: true, detail: { url: '/settings/unknown' } }))"""
    )
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    page.go_back()
    expect(page.get_by_role("heading", name="Your videos")).to_be_visible()
