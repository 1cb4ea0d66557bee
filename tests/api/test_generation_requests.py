"""Requesting a generation: a JSON `POST /api/generations` makes a pending item for a worker;
every bad value is a 422 with nothing created, and the import keeps its multipart path."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Deployment
from tests.support.factories import Account
from tests.support.media import clip


async def total(account: Account) -> int:
    return (await account.client.get("/api/generations")).json()["total"]


async def test_a_request_is_a_pending_item_of_the_caller(account: Account) -> None:
    response = await account.client.post(
        "/api/generations",
        json={"prompt": "  Sunrise over a coffee farm  ", "duration": 30, "aspect_ratio": "16:9"},
    )
    assert response.status_code == 201, response.text
    item = response.json()
    assert item["status"] == "pending"
    assert item["progress"] == 0
    assert item["prompt"] == "Sunrise over a coffee farm"
    assert (item["duration"], item["aspect_ratio"], item["attempts"]) == (30, "16:9", 0)
    assert item["video_url"] is None and item["thumbnail_url"] is None
    assert item["completed_at"] is None and item["error"] is None
    fetched = (await account.client.get(f"/api/generations/{item['id']}")).json()
    assert fetched == item
    listed = (await account.client.get("/api/generations", params={"status": "pending"})).json()
    assert [g["id"] for g in listed["generations"]] == [item["id"]]
    assert listed["generations"][0]["aspect_ratio"] == "16:9"


async def test_duration_and_aspect_ratio_have_defaults(account: Account) -> None:
    response = await account.client.post("/api/generations", json={"prompt": "A quiet lake"})
    assert response.status_code == 201, response.text
    assert (response.json()["duration"], response.json()["aspect_ratio"]) == (15, "9:16")


async def test_json_with_a_charset_parameter_is_accepted(account: Account) -> None:
    response = await account.client.post(
        "/api/generations",
        content=b'{"prompt": "Caf\xc3\xa9 terrace at dusk"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["prompt"] == "Café terrace at dusk"


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({}, "prompt"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": "p" * 2001}, "prompt"),
        ({"prompt": "nul \x00 inside"}, "prompt"),
        ({"prompt": 42}, "prompt"),
        ({"prompt": "ok", "duration": 0}, "duration"),
        ({"prompt": "ok", "duration": 61}, "duration"),
        ({"prompt": "ok", "duration": "15"}, "duration"),
        ({"prompt": "ok", "duration": 15.5}, "duration"),
        ({"prompt": "ok", "duration": True}, "duration"),
        ({"prompt": "ok", "aspect_ratio": "4:3"}, "aspect_ratio"),
        ({"prompt": "ok", "aspect_ratio": None}, "aspect_ratio"),
        ({"prompt": "ok", "status": "completed"}, "status"),
    ],
)
async def test_a_bad_value_is_422_and_creates_nothing(
    account: Account, body: dict[str, Any], key: str
) -> None:
    before = await total(account)
    response = await account.client.post("/api/generations", json=body)
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["detail"] == "Validation failed"
    assert error["extra"][0]["key"] == key
    assert error["extra"][0]["source"] == "body"
    assert await total(account) == before


async def test_a_blank_prompt_is_422(account: Account) -> None:
    response = await account.client.post("/api/generations", json={"prompt": "   \n "})
    assert response.status_code == 422
    assert response.json()["detail"] == "The prompt is required"


async def test_a_json_array_is_422(account: Account) -> None:
    response = await account.client.post("/api/generations", json=["prompt"])
    assert response.status_code == 422


async def test_a_body_that_is_not_json_is_400(account: Account) -> None:
    response = await account.client.post(
        "/api/generations",
        content=b'{"prompt": "trunc',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "The body is not valid JSON"


async def test_a_huge_json_body_is_413(account: Account) -> None:
    response = await account.client.post(
        "/api/generations", json={"prompt": "p", "padding": "x" * 200_000}
    )
    assert response.status_code == 413


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/jsonx"]
)
async def test_other_content_types_are_415(account: Account, content_type: str) -> None:
    before = await total(account)
    response = await account.client.post(
        "/api/generations", content=b'{"prompt": "x"}', headers={"Content-Type": content_type}
    )
    assert response.status_code == 415, response.text
    assert "application/json" in response.json()["detail"]
    assert await total(account) == before


async def test_no_content_type_is_415(account: Account) -> None:
    response = await account.client.post("/api/generations", content=b'{"prompt": "x"}')
    assert response.status_code == 415


async def test_a_request_needs_a_token(deployment: Deployment) -> None:
    async with httpx.AsyncClient(base_url=deployment.base_url) as anonymous:
        response = await anonymous.post("/api/generations", json={"prompt": "x"})
    assert response.status_code == 401


async def test_another_users_request_is_not_visible(
    account: Account, other_account: Account
) -> None:
    item = (await account.client.post("/api/generations", json={"prompt": "Mine"})).json()
    response = await other_account.client.get(f"/api/generations/{item['id']}")
    assert response.status_code == 404
    assert await total(other_account) == 0


async def test_an_import_has_no_aspect_ratio_and_no_attempts(account: Account) -> None:
    response = await account.client.post(
        "/api/generations",
        data={"prompt": "Imported"},
        files={"file": ("c.mp4", clip(160, 90, 1.0).read_bytes(), "video/mp4")},
    )
    assert response.status_code == 201, response.text
    item = response.json()
    assert item["status"] == "completed"
    assert (item["aspect_ratio"], item["attempts"]) == (None, 0)


async def test_the_openapi_document_shows_both_bodies(deployment: Deployment) -> None:
    async with httpx.AsyncClient(base_url=deployment.base_url) as anonymous:
        document = (await anonymous.get("/schema/openapi.json")).json()
    body = document["paths"]["/api/generations"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "multipart/form-data"}
    assert body["application/json"]["schema"]["properties"]["aspect_ratio"]["enum"] == [
        "9:16",
        "16:9",
        "1:1",
    ]
