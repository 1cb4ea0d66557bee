"""A wrong address: a browser gets the gallery's page with a 404 status (its router says "Page
not found" and offers a way back); API clients, and every /api/ path, keep the JSON error."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import Deployment
from tests.support.factories import register_and_login

# What Chromium sends when a person types an address.
BROWSER_ACCEPT = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
)
WRONG_ADDRESSES = ["/nope", "/gallery/x/y", "/login/again", "/css/missing.css"]


@pytest.fixture
async def anonymous(deployment: Deployment) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=deployment.base_url) as client:
        yield client


@pytest.mark.parametrize("path", WRONG_ADDRESSES)
async def test_a_browser_gets_the_page_with_a_404_status(
    anonymous: httpx.AsyncClient, path: str
) -> None:
    answer = await anonymous.get(path, headers={"Accept": BROWSER_ACCEPT})
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "<main" in answer.text and 'src="/js/main.js"' in answer.text
    assert answer.headers["cache-control"] == "no-cache"
    # The page runs under the same policy as every other answer.
    assert "content-security-policy" in answer.headers


async def test_a_head_request_from_a_browser_is_404_without_a_body(
    anonymous: httpx.AsyncClient,
) -> None:
    answer = await anonymous.head("/nope", headers={"Accept": BROWSER_ACCEPT})
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.content == b""


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "text/html;q=0.1, */*"])
async def test_api_clients_keep_the_json_error(
    anonymous: httpx.AsyncClient, accept: str | None
) -> None:
    headers = {"Accept": accept} if accept else {}
    if accept is None:
        anonymous.headers.pop("accept", None)
    answer = await anonymous.get("/nope", headers=headers)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["status_code"] == 404
    assert answer.json()["detail"]


@pytest.mark.parametrize(
    "path", ["/api/nope", "/api/generations/not-a-uuid/extra", "/api", "/health/nope"]
)
async def test_api_paths_answer_json_even_to_a_browser(
    anonymous: httpx.AsyncClient, path: str
) -> None:
    answer = await anonymous.get(path, headers={"Accept": BROWSER_ACCEPT})
    assert answer.status_code in (401, 404), answer.text
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["status_code"] == answer.status_code


async def test_an_unknown_video_of_a_signed_in_browser_stays_json_under_api(
    deployment: Deployment,
) -> None:
    user = await register_and_login(deployment.base_url)
    try:
        answer = await user.client.get(
            "/api/generations/00000000-0000-0000-0000-000000000000",
            headers={"Accept": BROWSER_ACCEPT},
        )
        assert answer.status_code == 404
        assert answer.json()["detail"] == "Video not found"
    finally:
        await user.client.aclose()


async def test_the_client_routes_still_answer_200(anonymous: httpx.AsyncClient) -> None:
    for path in ("/", "/login", "/gallery", "/gallery/some-id"):
        answer = await anonymous.get(path, headers={"Accept": BROWSER_ACCEPT})
        assert answer.status_code == 200, path
        assert answer.headers["content-type"].startswith("text/html")
