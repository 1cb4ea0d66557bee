"""Screenshots of a state at the three widths the gallery is checked at (phone, tablet,
desktop), written to tests/artifacts/ for a person to look at."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page

WIDTHS = (375, 800, 1440)


def load_lazy_thumbnails(page: Page) -> None:
    """Scroll every lazy thumbnail into range, wait until they have loaded, back to the top."""
    height = page.evaluate("() => document.documentElement.scrollHeight")
    step = max(200, page.viewport_size["height"] // 2)
    for top in range(0, height, step):
        page.evaluate(f"() => window.scrollTo(0, {top})")
        page.wait_for_timeout(30)
    page.wait_for_function(
        """() => {
          const gallery = document.querySelector('gallery-page');
          if (!gallery) return true;
          return [...gallery.shadowRoot.querySelectorAll('video-card')]
            .map((card) => card.shadowRoot.querySelector('img.picture'))
            .every((img) => !img || img.hidden || (img.complete && img.naturalWidth > 0));
        }"""
    )
    page.evaluate("() => window.scrollTo(0, 0)")


def shoot(
    page: Page,
    artifacts: Path,
    name: str,
    *,
    ready: Callable[[], None] | None = None,
    full_page: bool = True,
) -> list[Path]:
    """`name`-375.png, -800.png and -1440.png of the page's current state; `ready` runs after
    each resize (wait for what must be on screen)."""
    written = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 812 if width < 500 else 900})
        if ready:
            ready()
        load_lazy_thumbnails(page)
        path = artifacts / f"{name}-{width}.png"
        page.screenshot(path=path, full_page=full_page)
        assert path.stat().st_size > 5_000
        written.append(path)
    return written
