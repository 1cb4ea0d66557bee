"""Deleting one's own account: the account, every generation and every file, all or nothing,
across refused steps, a refused commit and a crash at any step."""

from __future__ import annotations

import httpx
import pytest

from tests.api.test_delete import imported, paths, run_crashing, served_with, trash_is_empty
from tests.conftest import Deployment
from tests.support.crash import CRASHED, DELETE_STEPS
from tests.support.factories import PASSWORD, Account, generation_row, insert_generations
from tests.support.faults import FailingStore, deleting_cannot_commit
from tests.support.servers import live_app

ME = "/api/auth/me"


async def library(deployment: Deployment, account: Account) -> list[dict]:
    """Two imported videos and a failed generation without files."""
    items = [await imported(account, prompt=f"Library {n}") for n in range(2)]
    await insert_generations(deployment.engine, [generation_row(account.id, status="failed")])
    return items


async def contents(deployment: Deployment, items: list[dict]) -> dict[str, bytes]:
    """Every stored file of `items`, with its bytes."""
    return {
        path: deployment.read_stored(path)
        for item in items
        for path in await paths(deployment, item)
    }


async def close(client: httpx.AsyncClient, password: str = PASSWORD) -> httpx.Response:
    return await client.request("DELETE", ME, json={"password": password})


async def still_usable(account: Account, items: list[dict]) -> None:
    assert (await account.client.get(ME)).status_code == 200
    assert (await account.client.get("/api/generations")).json()["total"] == len(items) + 1
    for item in items:
        assert (await account.client.get(item["video_url"])).status_code == 200


async def test_deleting_the_account_removes_it_with_every_video_and_file(
    deployment: Deployment, account: Account, other_account: Account
) -> None:
    items = await library(deployment, account)
    kept = await imported(other_account, prompt="Someone else's")
    stored = await contents(deployment, items)
    response = await close(account.client)
    assert response.status_code == 204, response.text
    assert not any(deployment.stored(p) for p in stored)
    assert await trash_is_empty(deployment)
    # The old token is refused everywhere, the password opens nothing.
    for method, url in [
        ("GET", ME),
        ("GET", "/api/generations"),
        ("GET", items[0]["video_url"]),
        ("DELETE", f"/api/generations/{items[1]['id']}"),
    ]:
        assert (await account.client.request(method, url)).status_code == 401, url
    async with httpx.AsyncClient(base_url=deployment.base_url) as anonymous:
        login = await anonymous.post(
            "/api/auth/login", json={"email": account.email, "password": PASSWORD}
        )
        assert login.status_code == 401
        # The e-mail is free again.
        again = await anonymous.post(
            "/api/auth/register", json={"email": account.email, "password": PASSWORD}
        )
        assert again.status_code == 201
    # Nobody else lost anything.
    assert all(deployment.stored(p) for p in await paths(deployment, kept))
    assert (await other_account.client.get(kept["video_url"])).status_code == 200


async def test_a_wrong_password_is_401_and_deletes_nothing(
    deployment: Deployment, account: Account
) -> None:
    items = await library(deployment, account)
    before = deployment.all_files()
    response = await close(account.client, "not the password")
    assert response.status_code == 401
    assert deployment.all_files() == before
    await still_usable(account, items)


async def test_an_account_without_generations_can_be_deleted(account: Account) -> None:
    assert (await close(account.client)).status_code == 204
    assert (await account.client.get(ME)).status_code == 401


async def test_a_cookie_call_from_another_site_is_refused(
    deployment: Deployment, account: Account
) -> None:
    async with httpx.AsyncClient(base_url=deployment.base_url) as browser:
        browser.cookies.set("reelvault_token", account.token)
        refused = await browser.request(
            "DELETE",
            ME,
            json={"password": PASSWORD},
            headers={"Origin": "https://evil.example"},
        )
    assert refused.status_code == 403
    assert (await account.client.get(ME)).status_code == 200


async def test_a_refused_move_midway_leaves_everything_in_place(
    deployment: Deployment, account: Account
) -> None:
    deployment.skip_on_s3("a refused rename of the media directory")
    items = await library(deployment, account)
    before = await contents(deployment, items)
    # The first video moves to the trash; then its thumbnail's move is refused.
    store = FailingStore(deployment.media.root, step="move", target=".trash/*/*.thumbnail")
    async with served_with(deployment, account, store) as client:
        response = await close(client)
    assert response.status_code == 500
    assert response.json()["detail"] == "The account could not be deleted; nothing was changed"
    assert {p: deployment.read_stored(p) for p in before} == before
    assert await trash_is_empty(deployment)
    await still_usable(account, items)


async def test_a_refused_commit_puts_every_file_back(
    deployment: Deployment, account: Account
) -> None:
    items = await library(deployment, account)
    before = await contents(deployment, items)
    async with deleting_cannot_commit(deployment.engine, items[1]["id"]):
        response = await close(account.client)
    assert response.status_code == 500
    assert {p: deployment.read_stored(p) for p in before} == before
    assert await trash_is_empty(deployment)
    await still_usable(account, items)


@pytest.mark.parametrize("step", DELETE_STEPS)
async def test_a_crash_at_any_step_is_settled_at_restart(
    deployment: Deployment, account: Account, step: str
) -> None:
    deployment.skip_on_s3("the steps are the media directory's (s3: tests/api/test_s3_faults.py)")
    items = await library(deployment, account)
    before = await contents(deployment, items)
    assert run_crashing(deployment, "close", "-", str(account.id), step) == CRASHED
    with live_app(deployment.settings):  # a restart: its recovery runs
        pass
    assert await trash_is_empty(deployment)
    if (await account.client.get(ME)).status_code == 200:
        assert step in {"after-manifest", "after-first-move", "before-commit"}
        assert {p: deployment.read_stored(p) for p in before} == before, "account kept, files lost"
        await still_usable(account, items)
    else:
        assert step in {"after-commit", "after-first-unlink"}
        assert not any(deployment.stored(p) for p in before), "account gone, files left"
