"""Small attacks on the request path, each once confirmed: other spellings of an id, a huge
request head, and the security headers a browser needs in direct mode (`make run`)."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from reelvault.security_headers import CONTENT_SECURITY_POLICY
from reelvault.server import MAX_HEAD_BYTES
from tests.conftest import Deployment
from tests.support.factories import Account, generation_row, insert_generations


def other_spellings(generation_id: str) -> list[str]:
    parsed = uuid.UUID(generation_id)
    return [
        generation_id.upper(),
        parsed.hex,
        "{" + generation_id + "}",
        f"urn:uuid:{generation_id}",
    ]


async def test_only_the_canonical_spelling_of_an_id_is_served(
    deployment: Deployment, account: Account
) -> None:
    (row,) = await insert_generations(deployment.engine, [generation_row(account.id)])
    canonical = str(row["id"])
    assert (await account.client.get(f"/api/generations/{canonical}")).status_code == 200
    for spelling in other_spellings(canonical):
        for path in ("/api/generations/", "/api/video/", "/api/thumbnail/"):
            answer = await account.client.get(path + spelling)
            assert answer.status_code == 404, (path, spelling)
            assert answer.json()["detail"] == "Video not found"
        refused = await account.client.delete(f"/api/generations/{spelling}")
        assert refused.status_code == 404
    # Nothing was deleted through another spelling.
    assert (await account.client.get(f"/api/generations/{canonical}")).status_code == 200


@pytest.mark.parametrize(
    "path", ["/", "/gallery", "/js/main.js", "/api/auth/me", "/health/live", "/no-such-page"]
)
async def test_every_answer_carries_the_security_headers(deployment: Deployment, path: str) -> None:
    async with httpx.AsyncClient(base_url=deployment.base_url) as anonymous:
        answer = await anonymous.get(path)
    assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "same-origin"
    assert len(answer.headers.get_list("content-security-policy")) == 1


async def test_the_api_docs_get_a_policy_that_lets_them_load(deployment: Deployment) -> None:
    async with httpx.AsyncClient(base_url=deployment.base_url) as anonymous:
        docs = await anonymous.get("/schema")
    assert docs.status_code == 200
    policy = docs.headers["content-security-policy"]
    assert "https://cdn.jsdelivr.net" in policy and "frame-ancestors 'none'" in policy
    assert docs.headers["x-frame-options"] == "DENY"


async def _raw_exchange(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
    except ConnectionError:
        pass  # the server may close before the whole head is sent: its answer is what counts
    try:
        return await asyncio.wait_for(reader.read(), timeout=20)
    finally:
        writer.close()


@pytest.mark.parametrize("part", ["request line", "one header", "many headers"])
async def test_an_oversized_request_head_is_refused_with_431(
    deployment: Deployment, account: Account, part: str
) -> None:
    huge = "a" * (8 * 1024 * 1024)
    head = {
        "request line": f"GET /api/generations?q={huge} HTTP/1.1\r\nHost: x\r\n\r\n",
        "one header": f"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: {huge}\r\n\r\n",
        "many headers": "GET /health/live HTTP/1.1\r\nHost: x\r\n"
        + "".join(f"X-H{i}: {'b' * 1000}\r\n" for i in range(200))
        + "\r\n",
    }[part]
    answer = await _raw_exchange(deployment.server.port, head.encode())
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b"too large" in answer
    # The process is unharmed: the next request is served.
    assert (await account.client.get("/api/auth/me")).status_code == 200


async def test_heads_within_the_bound_are_served(deployment: Deployment, account: Account) -> None:
    # As much as Nginx lets through in front of us: 16 KiB lines, 64 KiB in all.
    headers = {f"X-Pad-{i}": "c" * 12_000 for i in range(4)}
    assert sum(len(k) + len(v) for k, v in headers.items()) < MAX_HEAD_BYTES
    answer = await account.client.get("/api/auth/me", headers=headers)
    assert answer.status_code == 200
