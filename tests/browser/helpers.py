"""What the browser tests share: a signed-in person's library set up through the public API
(and the factories for states the API cannot create), and small page probes."""

from __future__ import annotations

import asyncio
import concurrent.futures
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
from playwright.sync_api import Page
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine

from reelvault.generations.models import Generation
from tests.support.factories import generation_row, insert_generations, register_and_login

T = TypeVar("T")

# The focused element, looking through open shadow roots.
DEEP_ACTIVE_ELEMENT = """() => {
  let active = document.activeElement;
  while (active && active.shadowRoot && active.shadowRoot.activeElement) {
    active = active.shadowRoot.activeElement;
  }
  return active;
}"""


def run_async(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion off this thread, whose asyncio state Playwright owns."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(_awaited(make))).result()


async def _awaited(make: Callable[[], Awaitable[T]]) -> T:
    return await make()


class Library:
    """One person's account and videos, driven from outside the browser."""

    def __init__(
        self, base_url: str, database_url: str, user_id: uuid.UUID, email: str, token: str
    ) -> None:
        self.base_url = base_url
        self.database_url = database_url
        self.user_id = user_id
        self.email = email
        self.token = token
        self.http = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        self._others: list[Library] = []

    @classmethod
    def register(cls, base_url: str, database_url: str) -> Library:
        account = run_async(lambda: register_and_login(base_url))
        run_async(account.client.aclose)
        return cls(base_url, database_url, account.id, account.email, account.token)

    def for_token(self, token: str) -> Library:
        """The library of whoever `token` belongs to (someone who signed up in the browser)."""
        me = httpx.get(f"{self.base_url}/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200, me.text
        other = Library(
            self.base_url, self.database_url, uuid.UUID(me.json()["id"]), me.json()["email"], token
        )
        self._others.append(other)
        return other

    def close(self) -> None:
        for other in self._others:
            other.close()
        self.http.close()

    def import_clip(self, clip: Path, prompt: str) -> dict[str, Any]:
        with clip.open("rb") as handle:
            response = self.http.post(
                "/api/generations",
                data={"prompt": prompt},
                files={"file": (clip.name, handle, "video/mp4")},
            )
        assert response.status_code == 201, response.text
        return response.json()

    def request_generation(
        self, prompt: str, *, duration: int = 15, aspect_ratio: str = "9:16"
    ) -> dict[str, Any]:
        """`POST /api/generations` with a JSON body: a pending generation for a worker."""
        response = self.http.post(
            "/api/generations",
            json={"prompt": prompt, "duration": duration, "aspect_ratio": aspect_ratio},
        )
        assert response.status_code == 201, response.text
        return response.json()

    def item(self, generation_id: str) -> httpx.Response:
        return self.http.get(f"/api/generations/{generation_id}")

    def video_bytes(self, generation_id: str) -> bytes:
        response = self.http.get(self.item(generation_id).json()["video_url"])
        assert response.status_code == 200, response.text
        return response.content

    def insert(self, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Rows in states the API cannot create (pending, processing, failed, file gone)."""
        rows = list(rows)

        async def insert() -> None:
            engine = create_async_engine(self.database_url)
            try:
                await insert_generations(engine, rows)
            finally:
                await engine.dispose()

        run_async(insert)
        return rows

    def row(self, **fields: Any) -> dict[str, Any]:
        return generation_row(self.user_id, **fields)

    def rows(self, count: int, *, start: datetime | None = None, **fields: Any) -> list[dict]:
        """`count` rows, one minute apart, the last one newest; `{n}` in the prompt is numbered."""
        start = start or datetime(2026, 1, 1, tzinfo=UTC)
        prompt = fields.pop("prompt", "Generated ad number {n}")
        return [
            self.row(
                prompt=prompt.format(n=index + 1),
                created_at=start + timedelta(minutes=index),
                **fields,
            )
            for index in range(count)
        ]

    def set_fields(self, generation_id: uuid.UUID | str, **fields: Any) -> None:
        async def change() -> None:
            engine = create_async_engine(self.database_url)
            try:
                async with engine.begin() as connection:
                    await connection.execute(
                        update(Generation)
                        .where(Generation.id == uuid.UUID(str(generation_id)))
                        .values(**fields)
                    )
            finally:
                await engine.dispose()

        run_async(change)


class Worker:
    """A generator process driven by the test over the worker endpoints, with a worker key."""

    def __init__(self, base_url: str, key: str) -> None:
        self.http = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        )

    def close(self) -> None:
        self.http.close()

    def claim(self, generation_id: str, *, lease_seconds: int = 120) -> str:
        """Claim until `generation_id` is the one handed out (the queue is shared by every
        owner: what older tests left pending is failed on the way); returns its lease token."""
        for _ in range(50):
            response = self.http.post("/api/worker/claim", json={"lease_seconds": lease_seconds})
            assert response.status_code == 200, (response.status_code, response.text)
            job = response.json()
            if job["generation_id"] == generation_id:
                return job["lease_token"]
            self.fail(job["generation_id"], job["lease_token"], "Left over by an earlier test.")
        raise AssertionError(f"{generation_id} was never handed out")

    def heartbeat(self, generation_id: str, lease: str, progress: int) -> httpx.Response:
        return self.http.post(
            f"/api/worker/jobs/{generation_id}/heartbeat",
            json={"lease_token": lease, "progress": progress},
        )

    def complete(self, generation_id: str, lease: str, clip: Path) -> dict[str, Any]:
        with clip.open("rb") as handle:
            response = self.http.post(
                f"/api/worker/jobs/{generation_id}/complete",
                data={"lease_token": lease, "cost": "0.42"},
                files={"file": (clip.name, handle, "video/mp4")},
            )
        assert response.status_code == 200, response.text
        return response.json()

    def fail(self, generation_id: str, lease: str, error: str) -> httpx.Response:
        return self.http.post(
            f"/api/worker/jobs/{generation_id}/fail",
            json={"lease_token": lease, "error": error, "retry": False},
        )


def card_prompts(page: Page) -> list[str]:
    """The prompts of the gallery's cards, in grid order."""
    return page.locator("video-card h2 a").all_inner_texts()


def grid_columns(page: Page) -> int:
    """How many distinct columns the gallery's cards sit in."""
    return page.evaluate(
        """() => {
          const page = document.querySelector('gallery-page');
          const cards = [...page.shadowRoot.querySelectorAll('video-card')];
          return new Set(cards.map((card) => Math.round(card.getBoundingClientRect().left))).size;
        }"""
    )


def focused_text(page: Page) -> str:
    return page.evaluate(f"() => ({DEEP_ACTIVE_ELEMENT})()?.textContent?.trim() ?? ''")


def focus_ring_visible(page: Page) -> bool:
    """Whether the focused element (or, for a card's stretched link, its overlay) draws an
    outline."""
    return page.evaluate(
        f"""() => {{
          const element = ({DEEP_ACTIVE_ELEMENT})();
          if (!element || element === document.body) return false;
          const drawn = (style) =>
            style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
          return drawn(getComputedStyle(element)) || drawn(getComputedStyle(element, '::after'));
        }}"""
    )
