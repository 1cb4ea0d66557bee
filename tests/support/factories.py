"""Set-up helpers: accounts through the public API, generation rows straight into the database
(the API has no way to create pending/processing/failed items, and the listing tests need
thousands of rows with chosen timestamps)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from reelvault.generations.models import Generation, GenerationStatus

PASSWORD = "correct horse battery"


@dataclass
class Account:
    id: uuid.UUID
    email: str
    token: str
    client: httpx.AsyncClient

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def register_and_login(base_url: str, email: str | None = None) -> Account:
    email = email or f"user-{uuid.uuid4().hex[:12]}@example.com"
    async with httpx.AsyncClient(base_url=base_url) as anonymous:
        created = await anonymous.post(
            "/api/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert created.status_code == 201, created.text
    token = await login(base_url, email)
    client = httpx.AsyncClient(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    return Account(uuid.UUID(created.json()["id"]), email, token, client)


async def login(base_url: str, email: str, password: str = PASSWORD) -> str:
    """A new session of the account (another device, say): its token."""
    async with httpx.AsyncClient(base_url=base_url) as anonymous:
        response = await anonymous.post(
            "/api/auth/login", json={"email": email, "password": password}
        )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def generation_row(owner_id: uuid.UUID, **fields: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    row: dict[str, Any] = {
        "id": uuid.uuid4(),
        "user_id": owner_id,
        "prompt": "A sunlit kitchen, slow dolly-in on a ceramic mug",
        "status": GenerationStatus.PENDING.value,
        "duration": 8,
        "cost": 0.42,
        "progress": 10,
        "error": None,
        "video_path": None,
        "thumbnail_path": None,
        "width": None,
        "height": None,
        "file_size": None,
        "completed_at": None,
        "created_at": now,
        "updated_at": now,
    }
    row.update(fields)
    return row


async def insert_generations(
    engine: AsyncEngine, rows: Iterable[dict[str, Any]]
) -> list[dict[str, Any]]:
    rows = list(rows)
    async with engine.begin() as connection:
        for start in range(0, len(rows), 500):
            await connection.execute(insert(Generation), rows[start : start + 500])
    return rows


def timeline(
    count: int, *, start: datetime | None = None, step: timedelta = timedelta(minutes=1)
) -> list[datetime]:
    start = start or datetime(2026, 1, 1, tzinfo=UTC)
    return [start + step * index for index in range(count)]
