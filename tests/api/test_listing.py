"""The gallery listing and detail: ownership, pagination, search, validation (both databases)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from reelvault.generations.models import GenerationStatus
from tests.conftest import Deployment
from tests.support.factories import Account, generation_row, insert_generations, timeline

ITEM_FIELDS = {
    "id",
    "prompt",
    "status",
    "video_url",
    "thumbnail_url",
    "storyboard_url",
    "duration",
    "cost",
    "width",
    "height",
    "file_size",
    "file_available",
    "progress",
    "error",
    "created_at",
    "completed_at",
    "aspect_ratio",
    "attempts",
}


async def all_pages(account: Account, page_size: int, **params: object) -> list[dict]:
    items: list[dict] = []
    offset = 0
    while True:
        response = await account.client.get(
            "/api/generations", params={"limit": page_size, "offset": offset, **params}
        )
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["generations"])
        offset += page_size
        if offset >= page["total"]:
            return items


async def test_new_account_has_an_empty_gallery(account: Account) -> None:
    response = await account.client.get("/api/generations")
    assert response.status_code == 200
    assert response.json() == {
        "total": 0,
        "limit": 20,
        "offset": 0,
        "next_cursor": None,
        "generations": [],
    }


async def test_items_have_the_contract_fields_and_no_paths(
    deployment: Deployment, account: Account
) -> None:
    failed, processing = await insert_generations(
        deployment.engine,
        [
            generation_row(
                account.id,
                status="failed",
                error="The model timed out",
                progress=None,
                video_path="videos/x.mp4",
            ),
            generation_row(account.id, status="processing", progress=40),
        ],
    )
    body = (await account.client.get("/api/generations")).json()
    assert body["total"] == 2
    by_id = {item["id"]: item for item in body["generations"]}
    for item in by_id.values():
        assert set(item) == ITEM_FIELDS
        assert all("videos/" not in str(value) for value in item.values())
    failed_item = by_id[str(failed["id"])]
    assert failed_item["error"] == "The model timed out"
    assert failed_item["video_url"] is None
    assert failed_item["file_available"] is False
    assert by_id[str(processing["id"])]["progress"] == 40


async def test_completed_item_whose_file_is_gone_is_not_available(
    deployment: Deployment, account: Account
) -> None:
    present_id, missing_id = uuid.uuid4(), uuid.uuid4()
    present_path = deployment.media.video_relpath(present_id)
    deployment.write_stored(present_path, b"\x00" * 16)
    await insert_generations(
        deployment.engine,
        [
            generation_row(
                account.id,
                id=present_id,
                status="completed",
                progress=None,
                video_path=present_path,
            ),
            generation_row(
                account.id,
                id=missing_id,
                status="completed",
                progress=None,
                video_path=deployment.media.video_relpath(missing_id),
            ),
        ],
    )
    items = {
        i["id"]: i for i in (await account.client.get("/api/generations")).json()["generations"]
    }
    assert items[str(present_id)]["file_available"] is True
    assert items[str(present_id)]["video_url"] == f"/api/video/{present_id}"
    assert items[str(missing_id)]["file_available"] is False


async def test_a_second_user_never_sees_counts_or_opens_the_first_users_videos(
    deployment: Deployment, account: Account, other_account: Account
) -> None:
    mine = await insert_generations(
        deployment.engine, [generation_row(account.id, prompt=f"mine {i}") for i in range(3)]
    )
    await insert_generations(
        deployment.engine, [generation_row(other_account.id, prompt="theirs") for _ in range(2)]
    )
    theirs = (await other_account.client.get("/api/generations", params={"q": "mine"})).json()
    assert theirs["total"] == 0
    listing = (await other_account.client.get("/api/generations")).json()
    assert listing["total"] == 2
    assert {item["prompt"] for item in listing["generations"]} == {"theirs"}
    for row in mine:
        foreign = await other_account.client.get(f"/api/generations/{row['id']}")
        assert foreign.status_code == 404
        assert foreign.json()["detail"] == "Video not found"
        own = await account.client.get(f"/api/generations/{row['id']}")
        assert own.status_code == 200
        assert own.json()["prompt"] == row["prompt"]


async def test_default_order_is_newest_first_and_asc_reverses_it(
    deployment: Deployment, account: Account
) -> None:
    rows = await insert_generations(
        deployment.engine,
        [generation_row(account.id, created_at=t) for t in timeline(5)],
    )
    newest_first = [str(r["id"]) for r in reversed(rows)]
    listed = (await account.client.get("/api/generations")).json()["generations"]
    assert [i["id"] for i in listed] == newest_first
    ascending = (
        await account.client.get("/api/generations", params={"sort": "created_at_asc"})
    ).json()
    assert [i["id"] for i in ascending["generations"]] == newest_first[::-1]


@pytest.mark.parametrize("sort", ["created_at_desc", "created_at_asc"])
async def test_pages_of_every_size_cover_the_set_without_repeat_or_gap(
    deployment: Deployment, account: Account, sort: str
) -> None:
    # 37 items, 25 of them sharing one timestamp: only the id tie-breaker keeps pages stable.
    shared = datetime(2026, 3, 1, tzinfo=UTC)
    times = [shared] * 25 + timeline(12, start=shared - timedelta(days=1))
    rows = await insert_generations(
        deployment.engine, [generation_row(account.id, created_at=t) for t in times]
    )
    expected = {str(row["id"]) for row in rows}
    reference: list[str] | None = None
    for page_size in [1, 2, 3, 5, 7, 10, 20, 36, 37, 100]:
        ids = [item["id"] for item in await all_pages(account, page_size, sort=sort)]
        assert len(ids) == len(set(ids)), f"repeat with limit={page_size}"
        assert set(ids) == expected, f"gap with limit={page_size}"
        reference = reference or ids
        assert ids == reference, f"order differs with limit={page_size}"
    stamps = [
        datetime.fromisoformat(i["created_at"]) for i in await all_pages(account, 100, sort=sort)
    ]
    assert stamps == sorted(stamps, reverse=sort == "created_at_desc")


async def test_offset_past_the_end_is_an_empty_page_with_the_total(
    deployment: Deployment, account: Account
) -> None:
    await insert_generations(deployment.engine, [generation_row(account.id) for _ in range(3)])
    body = (await account.client.get("/api/generations", params={"offset": 10})).json()
    assert body["total"] == 3
    assert body["generations"] == []
    assert body["offset"] == 10


async def test_status_filter_and_total(deployment: Deployment, account: Account) -> None:
    statuses = ["completed"] * 4 + ["failed"] * 3 + ["processing"] * 2 + ["pending"]
    await insert_generations(
        deployment.engine, [generation_row(account.id, status=s) for s in statuses]
    )
    for status in GenerationStatus:
        body = (
            await account.client.get(
                "/api/generations", params={"status": status.value, "limit": 2}
            )
        ).json()
        assert body["total"] == statuses.count(status.value)
        assert {item["status"] for item in body["generations"]} <= {status.value}
        assert len(body["generations"]) == min(2, statuses.count(status.value))


SEARCH_PROMPTS = [
    "Sneaker launch, NEON city at night",
    "neon-lit perfume bottle, macro",
    "Coffee ad: 100% arabica beans",
    "Coffee ad: 100 arabica beans",
    "snake_case logo reveal",
    "snakeXcase typography",
    r"Path C:\temp\reel overlay",
    "Path C:temp reel overlay",
    "Sunrise yoga mat, calm voice-over",
]


async def search(account: Account, term: str, **params: object) -> list[str]:
    response = await account.client.get(
        "/api/generations", params={"q": term, "limit": 100, **params}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["generations"])
    return sorted(item["prompt"] for item in body["generations"])


async def test_search_is_case_insensitive_and_literal(
    deployment: Deployment, account: Account
) -> None:
    await insert_generations(
        deployment.engine, [generation_row(account.id, prompt=p) for p in SEARCH_PROMPTS]
    )
    assert await search(account, "neon") == sorted(SEARCH_PROMPTS[:2])
    assert await search(account, "NeOn CiTy") == [SEARCH_PROMPTS[0]]
    assert await search(account, "100%") == [SEARCH_PROMPTS[2]]
    assert await search(account, "%") == [SEARCH_PROMPTS[2]]
    assert await search(account, "snake_case") == [SEARCH_PROMPTS[4]]
    assert await search(account, "_") == [SEARCH_PROMPTS[4]]
    assert await search(account, "C:\\temp") == [SEARCH_PROMPTS[6]]
    assert await search(account, "\\") == [SEARCH_PROMPTS[6]]
    assert await search(account, "/") == []
    assert await search(account, "nothing like this") == []


async def test_search_combines_with_status(deployment: Deployment, account: Account) -> None:
    await insert_generations(
        deployment.engine,
        [
            generation_row(account.id, prompt="Winter coat ad", status="completed"),
            generation_row(account.id, prompt="winter boots ad", status="failed"),
            generation_row(account.id, prompt="Summer hat ad", status="completed"),
        ],
    )
    assert await search(account, "winter", status="completed") == ["Winter coat ad"]
    assert await search(account, "winter", status="failed") == ["winter boots ad"]
    assert await search(account, "winter", status="pending") == []
    assert await search(account, "ad", status="completed") == ["Summer hat ad", "Winter coat ad"]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"limit": -1},
        {"limit": "ten"},
        {"limit": 1.5},
        {"offset": -1},
        {"offset": "x"},
        {"offset": 2**63},
        {"q": "nul\x00byte"},
        {"status": "done"},
        {"status": "COMPLETED"},
        {"q": "x" * 501},
        {"sort": "prompt"},
        {"sort": "created_at"},
    ],
    ids=lambda p: "-".join(f"{k}={str(v)[:8]}" for k, v in p.items()),
)
async def test_invalid_query_parameters_are_422(
    account: Account, params: dict[str, object]
) -> None:
    response = await account.client.get("/api/generations", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["status_code"] == 422


async def test_boundary_values_are_accepted(account: Account) -> None:
    for params in ({"limit": 1}, {"limit": 100}, {"offset": 0}, {"q": "x" * 500}, {"q": ""}):
        response = await account.client.get("/api/generations", params=params)
        assert response.status_code == 200, (params, response.text)


@pytest.mark.parametrize("bad_id", ["abc", "123", "not-a-uuid-at-all", "00000000-0000-0000-0000"])
async def test_malformed_id_is_404(account: Account, bad_id: str) -> None:
    response = await account.client.get(f"/api/generations/{bad_id}")
    assert response.status_code == 404
    assert response.json()["detail"] == "Video not found"


async def test_unknown_id_is_404(account: Account) -> None:
    response = await account.client.get(f"/api/generations/{uuid.uuid4()}")
    assert response.status_code == 404
