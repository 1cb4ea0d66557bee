"""Pictures of the gallery for a person to look at, written to tests/artifacts/ on every run:
desktop and phone, light and dark, with videos of every shape and state."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.browser.conftest import sign_in
from tests.browser.helpers import Library

pytestmark = pytest.mark.browser

PROMPTS = {
    "9:16": [
        "Sneaker launch: neon city at night, rain reflections, slow-motion splash",
        "Fitness app: three quick workouts in a bright loft, upbeat cuts",
    ],
    "16:9": [
        "Electric SUV on a coastal road at sunrise, drone follow shot",
        "Artisan bakery: croissants out of the oven, steam, warm light",
    ],
    "1:1": [
        "Cold brew coffee pour in slow motion, condensation on glass",
        "Skincare serum drop on glass, macro, pastel backdrop",
    ],
}
SHOTS = [
    ("gallery-desktop", {"width": 1440, "height": 900}, "light"),
    ("gallery-phone", {"width": 375, "height": 812}, "light"),
    ("gallery-desktop-dark", {"width": 1440, "height": 900}, "dark"),
]


def test_gallery_screenshots(
    new_context: Callable[..., BrowserContext],
    library: Library,
    clips: dict[str, Path],
    artifacts: Path,
) -> None:
    for ratio, prompts in PROMPTS.items():
        for prompt in prompts:
            library.import_clip(clips[ratio], prompt)
    old = datetime.now(UTC) - timedelta(days=2)
    library.insert(
        [
            library.row(
                prompt="Holiday gift guide: wrapped boxes, snow falling, red ribbon close-ups",
                status="processing",
                progress=62,
                created_at=old,
            ),
            library.row(
                prompt="Running shoes on a treadmill, studio lighting",
                status="pending",
                progress=0,
                created_at=old - timedelta(hours=1),
            ),
            library.row(
                prompt="Jewelry close-up with diamond sparkle at 8K, 60 fps",
                status="failed",
                error="The requested resolution is not supported by the selected model.",
                cost=0.05,
                created_at=old - timedelta(hours=2),
            ),
            library.row(
                prompt="Perfume bottle in a misty forest, cinematic",
                status="completed",
                progress=None,
                video_path="videos/lost.mp4",
                cost=1.58,
                created_at=old - timedelta(hours=3),
            ),
        ]
    )
    for name, viewport, scheme in SHOTS:
        context = new_context(
            viewport=viewport, color_scheme=scheme, is_mobile=viewport["width"] < 500
        )
        sign_in(context, library)
        page = context.new_page()
        page.goto("/gallery")
        expect(page.locator("video-card")).to_have_count(10)
        # Thumbnails are lazy: scroll them all into range before the full-page picture.
        height = page.evaluate("() => document.documentElement.scrollHeight")
        for top in range(0, height, viewport["height"] // 2):
            page.evaluate(f"() => window.scrollTo(0, {top})")
            page.wait_for_timeout(50)
        page.wait_for_function(
            """() => [...document.querySelector('gallery-page').shadowRoot
                        .querySelectorAll('video-card')]
                .map((card) => card.shadowRoot.querySelector('img.picture'))
                .every((img) => img.hidden || (img.complete && img.naturalWidth > 0))"""
        )
        page.evaluate("() => window.scrollTo(0, 0)")
        page.screenshot(path=artifacts / f"{name}.png", full_page=True)
        context.close()
    for name, _, _ in SHOTS:
        assert (artifacts / f"{name}.png").stat().st_size > 10_000
