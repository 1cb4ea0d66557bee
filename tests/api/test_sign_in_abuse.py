"""Password guessing, through real HTTP on SQLite and PostgreSQL: throttled per (account,
client address) in the database, so that two app processes agree, nobody can lock anyone else
out, and a burst of sign-ins leaves other requests fast.

The client address is the real ASGI client: a second loopback address (127.0.0.2) is another
address, as a colleague's machine would be (and behind Nginx, the address it forwards)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from argon2 import PasswordHasher

from reelvault.storage.store import MediaStore
from tests.conftest import Deployment
from tests.support.factories import PASSWORD, Account, register_and_login
from tests.support.media import clip
from tests.support.video_http import import_video

LIMIT = 10  # the contract: 429 after at most 10 wrong passwords in a row


@contextlib.asynccontextmanager
async def client(base_url: str, address: str = "127.0.0.1") -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(base_url=base_url, transport=transport, timeout=60) as c:
        yield c


async def sign_in(c: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await c.post("/api/auth/login", json={"email": email, "password": password})


async def guess_until_throttled(c: httpx.AsyncClient, email: str) -> list[int]:
    """Wrong passwords one after another until the first 429 (at most LIMIT + 1 tries)."""
    statuses = []
    for attempt in range(LIMIT + 1):
        statuses.append((await sign_in(c, email, f"wrong guess {attempt}")).status_code)
        if statuses[-1] == 429:
            break
    return statuses


@pytest.fixture
def second_app(deployment: Deployment) -> Iterator[str]:
    with deployment.second_app(store=MediaStore(deployment.settings.media_root)) as base_url:
        yield base_url


def argon2_seconds() -> float:
    """What one verification costs on this machine right now (the app's parameters)."""
    hasher = PasswordHasher()
    stored = hasher.hash("calibration")
    started = time.perf_counter()
    with contextlib.suppress(Exception):
        hasher.verify(stored, "not it")
    return time.perf_counter() - started


async def test_repeated_wrong_passwords_get_429_with_retry_after(
    deployment: Deployment, account: Account
) -> None:
    async with client(deployment.base_url) as c:
        statuses = await guess_until_throttled(c, account.email)
        assert statuses[-1] == 429, statuses
        assert set(statuses[:-1]) == {401}
        refused = await sign_in(c, account.email, "yet another guess")
        # While the block lasts even the right password is refused: a guess tells nothing.
        right = await sign_in(c, account.email, PASSWORD)
    assert refused.status_code == right.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 15 * 60
    assert refused.json() == {
        "status_code": 429,
        "detail": "Too many wrong passwords; try again later",
    }
    assert "set-cookie" not in right.headers


async def test_throttled_guesses_cost_no_password_work(
    deployment: Deployment, account: Account
) -> None:
    async with client(deployment.base_url) as c:
        assert (await guess_until_throttled(c, account.email))[-1] == 429
        started = time.perf_counter()
        statuses = [(await sign_in(c, account.email, "guess")).status_code for _ in range(20)]
        took = time.perf_counter() - started
    assert statuses == [429] * 20
    # Verifying each would take 20 Argon2 runs; refusing them, a statement each.
    assert took < 20 * argon2_seconds() / 2, took


async def test_other_accounts_from_the_same_address_keep_signing_in(
    deployment: Deployment, account: Account, other_account: Account
) -> None:
    async with client(deployment.base_url) as c:
        assert (await guess_until_throttled(c, account.email))[-1] == 429
        colleague = await sign_in(c, other_account.email, PASSWORD)
    assert colleague.status_code == 200


async def test_the_same_account_from_another_address_keeps_signing_in(
    deployment: Deployment, account: Account
) -> None:
    async with client(deployment.base_url, "127.0.0.1") as attacker:
        assert (await guess_until_throttled(attacker, account.email))[-1] == 429
    async with client(deployment.base_url, "127.0.0.2") as owner:
        signed_in = await sign_in(owner, account.email, PASSWORD)
    assert signed_in.status_code == 200, signed_in.text


async def test_a_success_starts_the_count_again(deployment: Deployment, account: Account) -> None:
    async with client(deployment.base_url) as c:
        for _ in range(2):
            wrong = [
                (await sign_in(c, account.email, "typo")).status_code for _ in range(LIMIT - 1)
            ]
            assert wrong == [401] * (LIMIT - 1)
            assert (await sign_in(c, account.email, PASSWORD)).status_code == 200


async def test_unknown_emails_are_throttled_alike(deployment: Deployment) -> None:
    """Otherwise a 429 would tell which e-mails have an account."""
    async with client(deployment.base_url) as c:
        statuses = await guess_until_throttled(c, f"nobody-{uuid.uuid4().hex}@example.com")
    assert statuses[-1] == 429, statuses


async def test_two_processes_share_the_count(
    deployment: Deployment, account: Account, second_app: str
) -> None:
    async with client(deployment.base_url) as first, client(second_app) as second:
        statuses = []
        for attempt in range(LIMIT + 1):
            target = first if attempt % 2 else second
            statuses.append((await sign_in(target, account.email, "wrong")).status_code)
        assert 429 in statuses, statuses
        assert (await sign_in(first, account.email, PASSWORD)).status_code == 429
        assert (await sign_in(second, account.email, PASSWORD)).status_code == 429


async def test_concurrent_guesses_across_two_processes_stay_under_the_limit(
    deployment: Deployment, account: Account, second_app: str
) -> None:
    """Counted before verifying: a burst cannot slip under the limit while Argon2 runs."""
    async with client(deployment.base_url) as first, client(second_app) as second:
        answers = await asyncio.gather(
            *(sign_in(first if n % 2 else second, account.email, f"g{n}") for n in range(30))
        )
    statuses = [answer.status_code for answer in answers]
    assert set(statuses) <= {401, 429, 503}, statuses
    assert statuses.count(401) <= LIMIT, statuses
    assert all("retry-after" in a.headers for a in answers if a.status_code in (429, 503))


async def test_a_bystander_stays_fast_during_concurrent_wrong_sign_ins(
    deployment: Deployment, account: Account
) -> None:
    """40 wrong sign-ins at once, each at another e-mail (no throttle applies): an owner's
    HEAD of a video and listing still answer promptly, and the burst gets only 401s or quick
    503s (the password pool's queue is bounded), never a 500 or a time-out."""
    video = await import_video(account, clip())
    async with client(deployment.base_url) as c:
        burst = [
            asyncio.create_task(sign_in(c, f"guess-{n}-{uuid.uuid4().hex}@example.com", "x" * 9))
            for n in range(40)
        ]
        await asyncio.sleep(0.05)  # the burst is in flight
        slowest = 0.0
        for _ in range(5):
            started = time.perf_counter()
            head = await account.client.head(f"/api/video/{video['id']}")
            listing = await account.client.get("/api/generations")
            slowest = max(slowest, time.perf_counter() - started)
            assert head.status_code == listing.status_code == 200
        answers = await asyncio.gather(*burst)
    statuses = {answer.status_code for answer in answers}
    assert statuses <= {401, 503}, statuses
    # Before: 4.2 s for the HEAD alone (Argon2 on the shared thread pool, connections held).
    assert slowest < 1.5, slowest


async def test_sign_in_answers_stay_uniform(deployment: Deployment) -> None:
    """A fresh account's first wrong password and an unknown e-mail: the same 401."""
    user = await register_and_login(deployment.base_url)
    try:
        async with client(deployment.base_url) as c:
            wrong = await sign_in(c, user.email, "not it at all")
            unknown = await sign_in(c, f"nobody-{uuid.uuid4().hex}@example.com", PASSWORD)
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json() == unknown.json()
    finally:
        await user.client.aclose()
