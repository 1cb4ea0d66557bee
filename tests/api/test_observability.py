"""Request ids, health and Prometheus metrics of the live app."""

from __future__ import annotations

import re

import httpx

from tests.conftest import Deployment
from tests.support.factories import Account
from tests.support.media import clip


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the Prometheus text exposition (0 where absent)."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{key}="{value}"' in line for key, value in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def scrape(deployment: Deployment) -> str:
    async with httpx.AsyncClient(base_url=deployment.base_url) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def test_every_response_carries_a_request_id(deployment: Deployment) -> None:
    async with httpx.AsyncClient(base_url=deployment.base_url) as client:
        fresh = await client.get("/health/live")
        kept = await client.get("/health/live", headers={"X-Request-ID": "edge-1234.abc"})
        hostile = await client.get("/health/live", headers={"X-Request-ID": "x" * 65 + "<script>"})
        error = await client.get("/api/generations")
    assert re.fullmatch(r"[0-9a-f]{32}", fresh.headers["x-request-id"])
    assert kept.headers["x-request-id"] == "edge-1234.abc"
    assert re.fullmatch(r"[0-9a-f]{32}", hostile.headers["x-request-id"])
    assert error.status_code == 401
    assert "x-request-id" in error.headers


async def test_health(deployment: Deployment) -> None:
    async with httpx.AsyncClient(base_url=deployment.base_url) as client:
        live = await client.get("/health/live")
        ready = await client.get("/health/ready")
    assert live.status_code == 200
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "ok", "media": "ok"}


async def test_metrics_count_requests_by_route_media_bytes_deletions_and_searches(
    deployment: Deployment, account: Account
) -> None:
    before = await scrape(deployment)
    source = clip(320, 180, 1.0)
    created = await account.client.post(
        "/api/generations",
        data={"prompt": "Metrics clip"},
        files={"file": ("m.mp4", source.read_bytes(), "video/mp4")},
    )
    item = created.json()
    ranged = await account.client.get(item["video_url"], headers={"Range": "bytes=0-999"})
    assert ranged.status_code == 206
    await account.client.get("/api/generations", params={"q": "metrics"})
    await account.client.get("/api/generations/not-an-id")
    assert (await account.client.delete(f"/api/generations/{item['id']}")).status_code == 200
    after = await scrape(deployment)

    def grew(name: str, by: float = 1, **labels: str) -> bool:
        return metric(after, name, **labels) - metric(before, name, **labels) >= by

    assert grew("reelvault_media_bytes_served_total", 1000, kind="video")
    assert grew("reelvault_media_time_to_first_byte_seconds_count", kind="video")
    assert grew("reelvault_deletions_total", outcome="deleted")
    assert grew("reelvault_imports_total", outcome="stored")
    assert grew("reelvault_search_duration_seconds_count")
    # Requests are labelled by route template, never by id (bounded cardinality).
    assert grew("reelvault_requests_total", route="/api/generations/{generation_id}", status="404")
    assert item["id"] not in after


async def test_metrics_are_served_to_loopback(deployment: Deployment) -> None:
    async with httpx.AsyncClient(
        transport=httpx.AsyncHTTPTransport(local_address="127.0.0.1"), base_url=deployment.base_url
    ) as client:
        assert (await client.get("/metrics")).status_code == 200


async def test_openapi_documents_the_contracts_error_codes(deployment: Deployment) -> None:
    async with httpx.AsyncClient(base_url=deployment.base_url) as client:
        document = (await client.get("/schema/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    paths = document["paths"]

    def codes(method: str, path: str) -> set[str]:
        return set(paths[path][method]["responses"])

    assert {"200", "401", "422"} <= codes("get", "/api/generations")
    assert "400" not in codes("get", "/api/generations")  # validation is 422 here
    assert {"201", "400", "401", "413", "415", "422"} <= codes("post", "/api/generations")
    assert {"200", "401", "403", "404", "500"} <= codes(
        "delete", "/api/generations/{generation_id}"
    )
    assert {"200", "206", "304", "400", "404", "416"} <= codes("get", "/api/video/{generation_id}")
    assert "head" in paths["/api/video/{generation_id}"]
    assert {"201", "409", "422"} <= codes("post", "/api/auth/register")
    assert {"200", "503"} <= codes("get", "/health/ready")
    upload = paths["/api/generations"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert set(upload["schema"]["required"]) == {"prompt", "file"}


async def test_client_routes_serve_the_gallery_page(deployment: Deployment) -> None:
    async with httpx.AsyncClient(base_url=deployment.base_url) as client:
        for path in ("/", "/login", "/gallery", f"/gallery/{'0' * 8}-0000-0000-0000-{'0' * 12}"):
            page = await client.get(path)
            assert page.status_code == 200, path
            assert page.headers["content-type"].startswith("text/html")
            assert "<html" in page.text
            head = await client.head(path)
            assert head.status_code == 200, path
            assert head.content == b""


async def test_openapi_documents_the_videos_range_and_conditional_headers(
    deployment: Deployment,
) -> None:
    async with httpx.AsyncClient(base_url=deployment.base_url) as client:
        document = (await client.get("/schema/openapi.json")).json()
    for method in ("get", "head"):
        operation = document["paths"]["/api/video/{generation_id}"][method]
        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
        assert headers >= {
            "Range",
            "If-Range",
            "If-None-Match",
            "If-Modified-Since",
            "If-Match",
            "If-Unmodified-Since",
        }, method
        assert {"206", "304", "412", "416"} <= set(operation["responses"]), method
