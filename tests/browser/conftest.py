"""Browser tests: Debian's Chromium, driven by Playwright's sync API, against the app served on
a free port with a temporary SQLite database and media folder. Every page runs under a strict
Content-Security-Policy ('self' only, no inline script or style), as the deployment will.

Without /usr/bin/chromium the tests are skipped with the reason printed (CI=true: they fail)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Route, sync_playwright

from reelvault.demo.clips import render_clip
from reelvault.settings import Settings
from tests.browser.helpers import Library
from tests.support.servers import ROOT, LiveServer, live_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "tests" / "artifacts"
MAX_UPLOAD_BYTES = 4 * 1024 * 1024
DESKTOP = {"width": 1440, "height": 900}
# The policy nginx.conf sends in deployment; the embedded server sends none, so the tests add it.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "media-src 'self'; connect-src 'self'; font-src 'self'; manifest-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def _is_document(url: str) -> bool:
    path = urlsplit(url).path
    return path in {"/", "/login", "/gallery"} or path.startswith("/gallery/")


def _with_csp(route: Route) -> None:
    response = route.fetch()
    route.fulfill(response=response, headers={**response.headers, "content-security-policy": CSP})


@pytest.fixture(scope="package")
def chromium() -> Path:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} not found: install Debian's chromium package to run browser tests"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        print(f"\nSKIP browser tests: {reason}")
        pytest.skip(reason)
    return CHROMIUM


# Package scope, not session: while Playwright's sync API is running, it marks its event loop as
# the running one in this thread, which would stop the async tests collected after this folder.
@pytest.fixture(scope="package")
def playwright(chromium: Path) -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright, chromium: Path) -> Iterator[Browser]:
    instance = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
    yield instance
    instance.close()


@pytest.fixture(scope="package")
def server(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("browser-deploy")
    settings = Settings(
        data_dir=workdir,
        database_url=f"sqlite+aiosqlite:///{workdir / 'reelvault.db'}",
        max_upload_bytes=MAX_UPLOAD_BYTES,
        log_level="WARNING",
    ).resolved()
    with live_app(settings, migrate=True) as live:
        yield live


@pytest.fixture(scope="package")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="package")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real H.264 clips in the three aspect ratios the product promises."""
    folder = tmp_path_factory.mktemp("clips")
    sizes = {"9:16": (360, 640), "16:9": (640, 360), "1:1": (480, 480)}
    made = {}
    for seed, (name, (width, height)) in enumerate(sizes.items(), start=1):
        path = folder / f"clip_{width}x{height}.mp4"
        render_clip(path, width=width, height=height, seconds=3, seed=seed)
        made[name] = path
    return made


@pytest.fixture(scope="package")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 30 s 720p clip of about 2.6 MB: more than Chromium reads ahead with
    preload="metadata" (about 1 MB), so seeking to its middle needs a new range request."""
    path = tmp_path_factory.mktemp("long-clip") / "lighthouse_1280x720.mp4"
    render_clip(path, width=1280, height=720, seconds=30, seed=3)
    return path


@pytest.fixture
def library(server: LiveServer) -> Iterator[Library]:
    """A fresh account (through the public API) and a way to fill its library."""
    person = Library.register(server.base_url, server.settings.database_url)
    yield person
    person.close()


@pytest.fixture
def page_problems() -> list[str]:
    """CSP violations and uncaught errors of the test's pages (see `new_context`)."""
    return []


@pytest.fixture
def new_context(
    browser: Browser, server: LiveServer, page_problems: list[str]
) -> Iterator[Callable[..., BrowserContext]]:
    """Contexts whose pages run under the CSP and report CSP violations and uncaught errors;
    the test fails at teardown if any page had one."""
    contexts: list[BrowserContext] = []
    problems = page_problems

    def make(**options: object) -> BrowserContext:
        options.setdefault("viewport", DESKTOP)
        options.setdefault("base_url", server.base_url)
        context = browser.new_context(**options)
        context.route(_is_document, _with_csp)
        context.on("page", watch)
        contexts.append(context)
        return context

    def watch(page: Page) -> None:
        page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
        page.on(
            "console",
            lambda message: (
                problems.append(message.text) if "Content Security Policy" in message.text else None
            ),
        )

    yield make
    for context in contexts:
        context.close()
    assert not problems, problems


def sign_in(context: BrowserContext, library: Library) -> None:
    """Give the context the session cookie that the sign-in form would have set."""
    context.add_cookies(
        [
            {
                "name": "reelvault_token",
                "value": library.token,
                "url": library.base_url,
                "httpOnly": True,
                "sameSite": "Strict",
            }
        ]
    )


@pytest.fixture
def page(new_context: Callable[..., BrowserContext], library: Library) -> Page:
    """A desktop-sized page, signed in as `library`'s person."""
    context = new_context()
    sign_in(context, library)
    return context.new_page()
