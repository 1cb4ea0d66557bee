"""Signing in and registering: the API's complaints appear next to the right field, a deep link
survives the detour through sign-in, and an ended session sends the person back to sign in."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import sign_in
from tests.browser.helpers import Library
from tests.support.factories import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def signed_out(new_context: Callable[..., BrowserContext]) -> Page:
    page = new_context().new_page()
    page.goto("/login")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    return page


def field_error(page: Page, field: str):
    return page.locator(f"#{field}-error")


def test_registration_shows_the_api_validation_next_to_each_field(
    signed_out: Page, library: Library
) -> None:
    page = signed_out
    page.get_by_role("button", name="Create an account").click()
    email, password = page.get_by_label("E-mail"), page.get_by_label("Password")
    submit = page.get_by_role("button", name="Create account")

    email.fill("not-an-email")
    password.fill("short")
    submit.click()
    expect(field_error(page, "email")).to_have_text(
        "Enter an e-mail address like name@example.com."
    )
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_be_focused()

    email.fill("fresh-person@example.com")
    submit.click()
    expect(field_error(page, "password")).to_have_text("Use at least 8 characters.")
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(field_error(page, "email")).to_have_text("")
    expect(email).not_to_have_attribute("aria-invalid", "true")
    # The message is part of the field's description for screen readers.
    expect(password).to_have_accessible_description(
        re.compile(r"At least 8 characters\.\s+Use at least 8 characters\.")
    )

    email.fill(library.email.upper())
    password.fill(PASSWORD)
    submit.click()
    expect(field_error(page, "email")).to_have_text("An account with this e-mail already exists.")
    expect(page).to_have_url(re.compile(r"/login$"))


def test_a_wrong_password_is_refused_in_plain_words(signed_out: Page, library: Library) -> None:
    page = signed_out
    page.get_by_label("E-mail").fill(library.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Incorrect e-mail or password.")
    expect(page).to_have_url(re.compile(r"/login$"))


def test_a_deep_link_leads_back_to_the_video_after_signing_in(
    signed_out: Page, library: Library, clips: dict[str, Path]
) -> None:
    page = signed_out
    item = library.import_clip(clips["9:16"], "Deep-linked teaser")
    page.goto(f"/gallery/{item['id']}")
    expect(page).to_have_url(re.compile(rf"/login\?next=%2Fgallery%2F{item['id']}$"))
    page.get_by_label("E-mail").fill(library.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(f"/gallery/{item['id']}$"))
    expect(page.get_by_role("heading", name="Deep-linked teaser")).to_be_visible()


def test_an_ended_session_asks_to_sign_in_again(
    new_context: Callable[..., BrowserContext], library: Library
) -> None:
    library.insert(library.rows(3, prompt="Session ad {n}", status="failed", error="x"))
    context = new_context()
    sign_in(context, library)
    page = context.new_page()
    # The live stream opens beside the listing: cookies cleared before it has opened would end
    # the session with the address of before the search.
    with page.expect_response(lambda response: "/api/generations/events" in response.url):
        page.goto("/gallery?status=failed")
    expect(page.locator("video-card")).to_have_count(3)
    context.clear_cookies()
    page.get_by_label("Search prompts").fill("session")
    expect(page).to_have_url(
        re.compile(r"/login\?next=%2Fgallery%3Fstatus%3Dfailed%26q%3Dsession$")
    )
    expect(page.get_by_text("Your session has ended. Sign in again to continue.")).to_be_visible()
    expect(page.locator("site-header").get_by_role("button", name="Sign out")).to_be_hidden()
