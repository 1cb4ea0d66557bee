"""Keyset paging while the library changes, exact totals under concurrent writers, and
versioned media URLs; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from reelvault.accounts.models import User
from reelvault.generations.models import Generation, GenerationStatus, generation_tally
from tests.conftest import Deployment
from tests.support.factories import (
    Account,
    generation_row,
    insert_generations,
    register_and_login,
    timeline,
)
from tests.support.media import clip


async def page(account: Account, **params: Any) -> dict[str, Any]:
    response = await account.client.get("/api/generations", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def follow(account: Account, first: dict[str, Any], **params: Any) -> list[str]:
    """Every id from `first` to the last page, following next_cursor."""
    ids = [item["id"] for item in first["generations"]]
    body = first
    while body["next_cursor"] is not None:
        body = await page(account, cursor=body["next_cursor"], **params)
        assert body["offset"] == 0
        ids += [item["id"] for item in body["generations"]]
    return ids


@pytest.mark.parametrize("sort", ["created_at_desc", "created_at_asc"])
async def test_cursor_pages_cover_the_set_without_repeat_or_gap(
    deployment: Deployment, account: Account, sort: str
) -> None:
    shared = datetime(2026, 3, 1, tzinfo=UTC)  # 25 share a timestamp: the id breaks the tie
    times = [shared] * 25 + timeline(12, start=shared - timedelta(days=1))
    rows = await insert_generations(
        deployment.engine, [generation_row(account.id, created_at=t) for t in times]
    )
    by_offset = [i["id"] for i in (await page(account, limit=100, sort=sort))["generations"]]
    assert set(by_offset) == {str(r["id"]) for r in rows}
    for limit in (1, 2, 5, 7, 36, 37, 100):
        first = await page(account, limit=limit, sort=sort)
        assert (first["next_cursor"] is None) == (limit >= len(rows))
        assert await follow(account, first, limit=limit, sort=sort) == by_offset


async def test_arrivals_and_deletions_while_paging_never_repeat_or_skip(
    deployment: Deployment, account: Account
) -> None:
    rows = await insert_generations(
        deployment.engine,
        [generation_row(account.id, created_at=t) for t in timeline(30)],
    )
    newest_first = [str(r["id"]) for r in reversed(rows)]
    first = await page(account, limit=10)
    assert [i["id"] for i in first["generations"]] == newest_first[:10]
    # While the person reads page 1: five new videos arrive, the last card they saw is deleted,
    # and so is one that page 2 would have shown.
    await insert_generations(
        deployment.engine,
        [generation_row(account.id, created_at=datetime.now(UTC)) for _ in range(5)],
    )
    gone = {newest_first[9], newest_first[12]}
    async with deployment.engine.begin() as connection:
        await connection.execute(
            delete(Generation).where(
                Generation.id.in_([r["id"] for r in rows if str(r["id"]) in gone])
            )
        )
    rest = await follow(
        account, await page(account, limit=10, cursor=first["next_cursor"]), limit=10
    )
    assert rest == [i for i in newest_first[10:] if i not in gone]
    assert (await page(account, limit=1))["total"] == 30 + 5 - 2


async def test_a_cursor_follows_its_filters(deployment: Deployment, account: Account) -> None:
    prompts = ["red sneaker", "blue sneaker", "red coat"] * 8
    statuses = ["completed", "failed"] * 12
    await insert_generations(
        deployment.engine,
        [
            generation_row(account.id, prompt=p, status=s, created_at=t)
            for p, s, t in zip(prompts, statuses, timeline(24), strict=True)
        ],
    )
    params = {"q": "RED", "status": "completed", "limit": 3}
    everything = (await page(account, **{**params, "limit": 100}))["generations"]
    first = await page(account, **params)
    assert first["total"] == len(everything)
    assert await follow(account, first, **params) == [i["id"] for i in everything]
    for other in ({"q": "blue"}, {"status": "failed"}, {"sort": "created_at_asc"}, {"q": None}):
        mixed = {k: v for k, v in {**params, **other}.items() if v is not None}
        response = await account.client.get(
            "/api/generations", params={**mixed, "cursor": first["next_cursor"]}
        )
        assert response.status_code == 422, (other, response.text)


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "%%%"},
        {"cursor": "eyJub3QiOiJhIGN1cnNvciJ9"},
        {"cursor": "x" * 513},
    ],
)
async def test_malformed_cursors_are_422(account: Account, params: dict[str, str]) -> None:
    response = await account.client.get("/api/generations", params=params)
    assert response.status_code == 422
    assert response.json()["detail"]


async def test_a_cursor_with_an_offset_is_422(deployment: Deployment, account: Account) -> None:
    await insert_generations(deployment.engine, [generation_row(account.id) for _ in range(3)])
    first = await page(account, limit=1)
    response = await account.client.get(
        "/api/generations", params={"cursor": first["next_cursor"], "offset": 1}
    )
    assert response.status_code == 422


async def test_someone_elses_cursor_shows_only_your_own_items(
    deployment: Deployment, account: Account, other_account: Account
) -> None:
    await insert_generations(
        deployment.engine, [generation_row(account.id, created_at=t) for t in timeline(4)]
    )
    mine = await insert_generations(
        deployment.engine, [generation_row(other_account.id, created_at=t) for t in timeline(4)]
    )
    cursor = (await page(account, limit=1))["next_cursor"]
    items = (await page(other_account, cursor=cursor))["generations"]
    assert {i["id"] for i in items} <= {str(r["id"]) for r in mine}
    # The cursor names a moment at the newest of the four: at least the three older ones of
    # the other owner follow it (the fourth shares the moment and falls on either side).
    assert len(items) >= 3


# --- totals -------------------------------------------------------------------------------


async def counted(deployment: Deployment, owner: Any) -> dict[str, int]:
    async with deployment.engine.connect() as connection:
        rows = await connection.execute(
            select(Generation.status, func.count())
            .where(Generation.user_id == owner)
            .group_by(Generation.status)
        )
        return {status: n for status, n in rows.all()}


async def assert_totals_exact(deployment: Deployment, account: Account) -> None:
    truth = await counted(deployment, account.id)
    assert (await page(account, limit=1))["total"] == sum(truth.values())
    for status in GenerationStatus:
        body = await page(account, limit=1, status=status.value)
        assert body["total"] == truth.get(status.value, 0), status


async def import_clip(account: Account, prompt: str) -> str:
    response = await account.client.post(
        "/api/generations",
        data={"prompt": prompt},
        files={"file": ("clip.mp4", clip(160, 90, 1.0).read_bytes(), "video/mp4")},
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def test_totals_stay_exact_under_concurrent_imports_and_deletes(
    deployment: Deployment, account: Account
) -> None:
    standing = [await import_clip(account, f"standing {n}") for n in range(6)]
    await assert_totals_exact(deployment, account)
    outcomes = await asyncio.gather(
        *(import_clip(account, f"concurrent {n}") for n in range(8)),
        *(account.client.delete(f"/api/generations/{gid}") for gid in standing),
        # The same video deleted twice at once: one success, one 404, counted once.
        account.client.delete(f"/api/generations/{standing[0]}"),
    )
    deletions = [o.status_code for o in outcomes[8:]]
    assert sorted(deletions) == [200] * 6 + [404]
    await assert_totals_exact(deployment, account)
    assert (await page(account, limit=1))["total"] == 8


async def test_totals_follow_status_changes_and_direct_writes(
    deployment: Deployment, account: Account
) -> None:
    rng = random.Random(7)
    statuses = [rng.choice(list(GenerationStatus)).value for _ in range(40)]
    rows = await insert_generations(
        deployment.engine, [generation_row(account.id, status=s) for s in statuses]
    )
    await assert_totals_exact(deployment, account)
    async with deployment.engine.begin() as connection:
        for row in rng.sample(rows, 15):
            await connection.execute(
                update(Generation)
                .where(Generation.id == row["id"])
                .values(status=rng.choice(list(GenerationStatus)).value)
            )
        await connection.execute(
            delete(Generation).where(Generation.id.in_([r["id"] for r in rows[:5]]))
        )
    await assert_totals_exact(deployment, account)


async def test_a_deleted_accounts_tally_goes_with_it(deployment: Deployment) -> None:
    leaving = await register_and_login(deployment.base_url)
    try:
        await insert_generations(deployment.engine, [generation_row(leaving.id) for _ in range(3)])
        async with deployment.engine.connect() as connection:
            if deployment.backend == "sqlite":  # as the app's own connections do
                await connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            await connection.execute(delete(User).where(User.id == leaving.id))
            await connection.commit()
            tally = await connection.execute(
                select(func.count()).where(generation_tally.c.user_id == leaving.id)
            )
            assert tally.scalar() == 0
        assert (await leaving.client.get("/api/generations")).status_code == 401
    finally:
        await leaving.client.aclose()


# --- versioned media URLs -----------------------------------------------------------------


async def test_current_media_urls_are_immutable_and_bare_paths_still_answer(
    account: Account,
) -> None:
    first = (
        await account.client.get(f"/api/generations/{await import_clip(account, 'v1')}")
    ).json()
    second = (
        await account.client.get(f"/api/generations/{await import_clip(account, 'v2')}")
    ).json()
    version = first["thumbnail_url"].split("?v=", 1)[1]
    assert version
    assert first["video_url"].endswith(f"?v={version}")
    assert second["thumbnail_url"].split("?v=", 1)[1] != version
    for url in (first["thumbnail_url"], first["video_url"]):
        response = await account.client.get(url, headers={"Range": "bytes=0-1"})
        assert response.status_code in (200, 206)
        assert response.headers["cache-control"] == "private, max-age=31536000, immutable"
    bare = await account.client.get(first["thumbnail_url"].split("?", 1)[0])
    assert bare.status_code == 200
    assert bare.headers["cache-control"] == "private, max-age=86400"
    stale = await account.client.get(first["thumbnail_url"].split("?", 1)[0] + "?v=old")
    assert stale.status_code == 200
    assert "immutable" not in stale.headers["cache-control"]
    assert stale.content == bare.content


# --- search through the index ---------------------------------------------------------------

TRICKY_PROMPTS = [
    'Say "cheese" OR smile',
    "NEAR the pier, sunset*",
    "Crème brûlée close-up",
    "AND NOT: a bold claim",
    "x^2 + y_1 = 50% off",
    "plain words only",
    "ab",
    "tea time",
]


@pytest.mark.parametrize(
    "term",
    [
        '"cheese"',
        "OR",
        "sunset*",
        "NEAR",
        "brûlée",
        "AND NOT",
        "^2",
        "_1 =",
        "50%",
        "ab",
        "t",
        "ea",
    ],
)
async def test_search_matches_exactly_the_prompts_that_contain_the_term(
    deployment: Deployment, account: Account, term: str
) -> None:
    await insert_generations(
        deployment.engine, [generation_row(account.id, prompt=p) for p in TRICKY_PROMPTS]
    )
    body = await page(account, q=term, limit=100)
    expected = sorted(p for p in TRICKY_PROMPTS if term.lower() in p.lower())
    assert sorted(i["prompt"] for i in body["generations"]) == expected
    assert body["total"] == len(expected)


async def test_searches_count_and_page_only_the_owners_matches(
    deployment: Deployment, account: Account, other_account: Account
) -> None:
    mine = await insert_generations(
        deployment.engine,
        [
            generation_row(account.id, prompt=f"kombucha shot {n}", created_at=t)
            for n, t in enumerate(timeline(45))
        ],
    )
    await insert_generations(
        deployment.engine,
        [generation_row(other_account.id, prompt=f"kombucha ad {n}") for n in range(30)],
    )
    newest_first = [str(r["id"]) for r in reversed(mine)]
    first = await page(account, q="kombucha", limit=20)
    assert first["total"] == 45
    assert await follow(account, first, q="kombucha", limit=20) == newest_first
    by_offset = await page(account, q="kombucha", limit=20, offset=40)
    assert by_offset["total"] == 45
    assert [i["id"] for i in by_offset["generations"]] == newest_first[40:]
    past_the_end = await page(account, q="kombucha", limit=20, offset=60)
    assert (past_the_end["total"], past_the_end["generations"]) == (45, [])
    # Deleting the newest and adding more keeps the owner's index entries apart and whole.
    async with deployment.engine.begin() as connection:
        await connection.execute(delete(Generation).where(Generation.id == mine[-1]["id"]))
    await insert_generations(
        deployment.engine, [generation_row(account.id, prompt="kombucha late") for _ in range(2)]
    )
    assert (await page(account, q="kombucha"))["total"] == 46
    assert (await page(other_account, q="kombucha"))["total"] == 30
