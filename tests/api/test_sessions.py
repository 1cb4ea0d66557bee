"""Server-side sessions, through real HTTP on SQLite and PostgreSQL: a token lives exactly as
long as its session row, on every app process that shares the database."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from sqlalchemy import ColumnElement, delete, func, select, update

from reelvault.accounts.auth import AUTH_COOKIE
from reelvault.accounts.models import auth_session
from reelvault.storage.store import MediaStore
from tests.conftest import Deployment
from tests.support.factories import PASSWORD, Account, login, register_and_login

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def second_app(deployment: Deployment) -> Iterator[str]:
    """Another app process's base URL: its own engine and pool on the same database."""
    with deployment.second_app(store=MediaStore(deployment.settings.media_root)) as base_url:
        yield base_url


@contextlib.asynccontextmanager
async def bearer(base_url: str, token: str) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as client:
        yield client


async def me_status(base_url: str, token: str) -> int:
    async with bearer(base_url, token) as client:
        return (await client.get("/api/auth/me")).status_code


async def test_logout_ends_the_token_at_once_on_every_process(
    deployment: Deployment, account: Account, second_app: str
) -> None:
    assert await me_status(deployment.base_url, account.token) == 200
    assert await me_status(second_app, account.token) == 200
    assert (await account.client.post("/api/auth/logout")).status_code == 204
    assert await me_status(deployment.base_url, account.token) == 401
    assert await me_status(second_app, account.token) == 401
    async with bearer(second_app, account.token) as client:
        assert (await client.get("/api/generations")).status_code == 401
        assert (await client.post("/api/auth/logout")).status_code == 401
    # The same token as a cookie is just as dead.
    async with httpx.AsyncClient(base_url=deployment.base_url) as client:
        client.cookies.set(AUTH_COOKIE, account.token)
        assert (await client.get("/api/auth/me")).status_code == 401


async def test_logout_ends_only_its_own_session(deployment: Deployment, account: Account) -> None:
    other_device = await login(deployment.base_url, account.email)
    assert (await account.client.post("/api/auth/logout")).status_code == 204
    assert await me_status(deployment.base_url, other_device) == 200


async def test_password_change_ends_the_other_sessions_and_keeps_the_callers(
    deployment: Deployment, account: Account, second_app: str
) -> None:
    laptop = await login(deployment.base_url, account.email)
    phone = await login(second_app, account.email)
    changed = await account.client.post(
        "/api/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert changed.status_code == 204, changed.text
    assert changed.content == b""
    for base_url in (deployment.base_url, second_app):
        assert await me_status(base_url, account.token) == 200
        assert await me_status(base_url, laptop) == 401
        assert await me_status(base_url, phone) == 401
    async with httpx.AsyncClient(base_url=second_app) as client:
        old = await client.post(
            "/api/auth/login", json={"email": account.email, "password": PASSWORD}
        )
        new = await client.post(
            "/api/auth/login", json={"email": account.email, "password": NEW_PASSWORD}
        )
    assert old.status_code == 401
    assert new.status_code == 200


async def test_wrong_current_password_is_401_and_changes_nothing(
    deployment: Deployment, account: Account
) -> None:
    laptop = await login(deployment.base_url, account.email)
    refused = await account.client.post(
        "/api/auth/password",
        json={"current_password": "not the password", "new_password": NEW_PASSWORD},
    )
    assert refused.status_code == 401
    assert refused.json()["detail"] == "The current password is incorrect"
    assert await me_status(deployment.base_url, account.token) == 200
    assert await me_status(deployment.base_url, laptop) == 200
    assert await login(deployment.base_url, account.email)  # the old password still opens it


@pytest.mark.parametrize(
    "body",
    [
        {"current_password": PASSWORD, "new_password": "short"},
        {"current_password": PASSWORD, "new_password": "x" * 257},
        {"current_password": PASSWORD, "new_password": "nul\x00-in-a-password"},
        {"current_password": PASSWORD},
        {"new_password": NEW_PASSWORD},
        {"current_password": PASSWORD, "new_password": 12345678},
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "extra": 1},
    ],
    ids=["new-7", "new-257", "new-nul", "no-new", "no-current", "new-not-string", "unknown"],
)
async def test_invalid_password_change_is_422_and_changes_nothing(
    deployment: Deployment, account: Account, body: dict[str, object]
) -> None:
    refused = await account.client.post("/api/auth/password", json=body)
    assert refused.status_code == 422, refused.text
    assert await login(deployment.base_url, account.email)


async def test_password_change_needs_a_token(deployment: Deployment) -> None:
    async with httpx.AsyncClient(base_url=deployment.base_url) as client:
        response = await client.post(
            "/api/auth/password",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        )
    assert response.status_code == 401


async def test_a_deleted_session_is_401(deployment: Deployment, account: Account) -> None:
    async with deployment.engine.begin() as connection:
        await connection.execute(delete(auth_session).where(session_of(account.token)))
    assert (await account.client.get("/api/auth/me")).status_code == 401
    assert (await account.client.get("/api/generations")).status_code == 401


async def test_an_expired_session_is_401_though_the_token_is_not(
    deployment: Deployment, account: Account
) -> None:
    # The JWT's `exp` is hours away: only the session row says it is over.
    await set_expiry(deployment, account.token, datetime.now(UTC) - timedelta(seconds=1))
    assert (await account.client.get("/api/auth/me")).status_code == 401
    assert (await account.client.get("/api/generations")).status_code == 401


async def test_expired_sessions_are_purged_at_sign_in(
    deployment: Deployment, account: Account
) -> None:
    await set_expiry(deployment, account.token, datetime.now(UTC) - timedelta(seconds=1))
    await login(deployment.base_url, account.email)
    assert await session_count(deployment, session_of(account.token)) == 0


async def test_a_token_names_its_own_session_only(
    deployment: Deployment, account: Account, other_account: Account
) -> None:
    """A validly signed token whose jti is missing, unknown, or another user's session: 401."""
    key = deployment.settings.signing_key()
    claims = jwt.decode(account.token, options={"verify_signature": False})
    forged = {
        "no-jti": {k: v for k, v in claims.items() if k != "jti"},
        "unknown-jti": {**claims, "jti": str(uuid.uuid4())},
        "not-a-uuid": {**claims, "jti": "session-1"},
        "someone-elses": {**claims, "jti": session_id(other_account.token)},
    }
    for name, payload in forged.items():
        token = jwt.encode(payload, key, algorithm="HS256")
        assert await me_status(deployment.base_url, token) == 401, name
    assert await me_status(deployment.base_url, account.token) == 200
    assert await me_status(deployment.base_url, other_account.token) == 200


async def test_each_login_is_its_own_session(deployment: Deployment) -> None:
    user = await register_and_login(deployment.base_url)
    try:
        second = await login(deployment.base_url, user.email)
        assert session_id(second) != session_id(user.token)
        assert await session_count(deployment, auth_session.c.user_id == user.id) == 2
    finally:
        await user.client.aclose()


def session_id(token: str) -> str:
    return jwt.decode(token, options={"verify_signature": False})["jti"]


def session_of(token: str) -> ColumnElement[bool]:
    return auth_session.c.id == uuid.UUID(session_id(token))


async def set_expiry(deployment: Deployment, token: str, when: datetime) -> None:
    async with deployment.engine.begin() as connection:
        await connection.execute(
            update(auth_session).where(session_of(token)).values(expires_at=when)
        )


async def session_count(deployment: Deployment, where: ColumnElement[bool]) -> int:
    async with deployment.engine.connect() as connection:
        statement = select(func.count()).select_from(auth_session).where(where)
        return (await connection.execute(statement)).scalar_one()
