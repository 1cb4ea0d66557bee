"""Accounts and tokens, through real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

import httpx
import jwt
import pytest

from reelvault.accounts.auth import AUTH_COOKIE
from tests.conftest import Deployment
from tests.support.factories import PASSWORD, Account, register_and_login
from tests.support.servers import ROOT, live_app, settings_env

PROTECTED = [
    ("GET", "/api/auth/me"),
    ("GET", "/api/generations"),
    ("GET", f"/api/generations/{uuid.uuid4()}"),
    ("POST", "/api/auth/logout"),
    ("POST", "/api/auth/password"),
]


def unique_email() -> str:
    return f"someone-{uuid.uuid4().hex[:10]}@example.com"


async def test_register_returns_the_account_without_secrets(deployment: Deployment) -> None:
    email = unique_email()
    async with httpx.AsyncClient(base_url=deployment.base_url) as client:
        response = await client.post(
            "/api/auth/register", json={"email": email, "password": PASSWORD}
        )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "email", "created_at"}
    assert body["email"] == email
    assert str(uuid.UUID(body["id"])) == body["id"]
    assert body["created_at"].endswith(("Z", "+00:00"))


async def test_email_taken_is_409_regardless_of_case(deployment: Deployment) -> None:
    email = unique_email()
    async with httpx.AsyncClient(base_url=deployment.base_url) as client:
        first = await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
        again = await client.post(
            "/api/auth/register", json={"email": email.upper(), "password": PASSWORD}
        )
    assert first.status_code == 201
    assert again.status_code == 409
    assert again.json()["detail"] == "An account with this e-mail already exists"


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-email", "password": PASSWORD},
        {"email": "a@b.co", "password": "short"},
        {"email": "a@b.co", "password": "x" * 257},
        {"email": "a@b.co"},
        {"password": PASSWORD},
        {"email": 5, "password": PASSWORD},
        {"email": "nul\x00@example.com", "password": PASSWORD},
        {"email": "a@b.co", "password": "nul\x00-in-a-password"},
    ],
    ids=[
        "bad-email",
        "password-7",
        "password-257",
        "no-password",
        "no-email",
        "email-not-string",
        "nul-in-email",
        "nul-in-password",
    ],
)
async def test_invalid_registration_is_422(deployment: Deployment, body: dict[str, object]) -> None:
    async with httpx.AsyncClient(base_url=deployment.base_url) as client:
        response = await client.post("/api/auth/register", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["status_code"] == 422


async def test_password_of_8_and_256_characters_are_accepted(deployment: Deployment) -> None:
    async with httpx.AsyncClient(base_url=deployment.base_url) as client:
        for password in ("x" * 8, "y" * 256):
            response = await client.post(
                "/api/auth/register", json={"email": unique_email(), "password": password}
            )
            assert response.status_code == 201, response.text


async def test_login_sets_token_and_strict_httponly_cookie(deployment: Deployment) -> None:
    email = unique_email()
    async with httpx.AsyncClient(base_url=deployment.base_url) as client:
        await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
        response = await client.post(
            "/api/auth/login", json={"email": email.upper(), "password": PASSWORD}
        )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == deployment.settings.token_lifetime_seconds
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{AUTH_COOKIE}={body['access_token']};")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "Path=/" in cookie
    assert "Secure" not in cookie  # the test deployment is not behind HTTPS
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert {"sub", "iat", "exp"} <= set(claims)
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "HS256"


async def test_wrong_password_and_unknown_email_get_the_same_401(deployment: Deployment) -> None:
    email = unique_email()
    async with httpx.AsyncClient(base_url=deployment.base_url) as client:
        await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
        wrong = await client.post("/api/auth/login", json={"email": email, "password": "nope-nope"})
        unknown = await client.post(
            "/api/auth/login", json={"email": unique_email(), "password": PASSWORD}
        )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert "set-cookie" not in wrong.headers


async def test_cookie_alone_authenticates_and_logout_clears_it(deployment: Deployment) -> None:
    email = unique_email()
    async with httpx.AsyncClient(base_url=deployment.base_url) as client:
        await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
        await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        me = await client.get("/api/auth/me")
        assert me.status_code == 200
        assert me.json()["email"] == email
        logout = await client.post("/api/auth/logout", headers={"Origin": deployment.base_url})
        assert logout.status_code == 204
        assert (
            f'{AUTH_COOKIE}=""' in logout.headers["set-cookie"]
            or "Max-Age=0" in logout.headers["set-cookie"]
        )
        assert (await client.get("/api/auth/me")).status_code == 401


async def test_cookie_only_unsafe_request_from_another_origin_is_403(
    deployment: Deployment,
) -> None:
    email = unique_email()
    async with httpx.AsyncClient(base_url=deployment.base_url) as client:
        await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
        await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        foreign = await client.post("/api/auth/logout", headers={"Origin": "https://evil.example"})
        no_origin = await client.post("/api/auth/logout")
        cross_site = await client.post("/api/auth/logout", headers={"Sec-Fetch-Site": "cross-site"})
        same = await client.post("/api/auth/logout", headers={"Origin": deployment.base_url})
    assert foreign.status_code == 403
    assert no_origin.status_code == 403
    assert cross_site.status_code == 403
    assert same.status_code == 204


async def test_bearer_request_needs_no_origin(account: Account) -> None:
    response = await account.client.post(
        "/api/auth/logout", headers={"Origin": "https://x.example"}
    )
    assert response.status_code == 204


def forged(deployment: Deployment, account: Account, **changes: object) -> str:
    claims = jwt.decode(account.token, options={"verify_signature": False})
    claims.update(changes)
    return jwt.encode(claims, deployment.settings.signing_key(), algorithm="HS256")


def bad_tokens(deployment: Deployment, account: Account) -> dict[str, str]:
    claims = jwt.decode(account.token, options={"verify_signature": False})
    header, payload, _ = account.token.split(".")
    no_sub = {k: v for k, v in claims.items() if k != "sub"}
    return {
        "garbage": "not-a-jwt",
        "wrong-signature": jwt.encode(claims, "another-secret-that-is-long-enough-0123", "HS256"),
        "alg-none": jwt.encode(claims, key=None, algorithm="none"),
        "alg-hs512": jwt.encode(claims, deployment.settings.signing_key(), algorithm="HS512"),
        "expired": forged(deployment, account, exp=int(time.time()) - 10),
        "no-sub": jwt.encode(no_sub, deployment.settings.signing_key(), algorithm="HS256"),
        "unknown-user": forged(deployment, account, sub=str(uuid.uuid4())),
        "tampered-payload": f"{header}.{payload}x.{account.token.split('.')[2]}",
    }


@pytest.mark.parametrize(("method", "path"), PROTECTED)
async def test_every_bad_token_is_401(
    deployment: Deployment, account: Account, method: str, path: str
) -> None:
    async with httpx.AsyncClient(base_url=deployment.base_url) as client:
        missing = await client.request(method, path)
        assert missing.status_code == 401, (method, path)
        for name, token in bad_tokens(deployment, account).items():
            via_header = await client.request(
                method, path, headers={"Authorization": f"Bearer {token}"}
            )
            assert via_header.status_code == 401, (name, method, path, via_header.text)
            client.cookies.set(AUTH_COOKIE, token)
            via_cookie = await client.request(method, path, headers={"Origin": deployment.base_url})
            client.cookies.clear()
            assert via_cookie.status_code == 401, (name, method, path, via_cookie.text)
    # The genuine token still works, so the 401s above are about the tokens.
    assert (await account.client.get("/api/auth/me")).status_code == 200


async def test_token_of_a_deleted_user_is_401(deployment: Deployment) -> None:
    from sqlalchemy import text

    user = await register_and_login(deployment.base_url)
    try:
        assert (await user.client.get("/api/auth/me")).status_code == 200
        async with deployment.engine.begin() as connection:
            await connection.execute(
                text("DELETE FROM user_account WHERE email = :email"), {"email": user.email}
            )
        assert (await user.client.get("/api/auth/me")).status_code == 401
        assert (await user.client.get("/api/generations")).status_code == 401
    finally:
        await user.client.aclose()


# --- cross-site defences: JSON bodies only, and the origin rule for sign-in too -------------

JSON_ENDPOINTS = ["/api/auth/login", "/api/auth/register", "/api/auth/password"]


@pytest.mark.parametrize("path", JSON_ENDPOINTS)
@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "text/plain; charset=utf-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "text/json",
        "application/jsonp",
    ],
)
async def test_a_json_endpoint_refuses_any_other_body_with_415(
    deployment: Deployment, account: Account, path: str, content_type: str | None
) -> None:
    """What a cross-site `<form enctype="text/plain">` can send is never read as JSON."""
    body = {"email": account.email, "password": PASSWORD}
    if path.endswith("/password"):
        body = {"current_password": PASSWORD, "new_password": "another good one"}
    headers = {"Authorization": f"Bearer {account.token}"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    async with httpx.AsyncClient(base_url=deployment.base_url) as client:
        response = await client.post(path, content=json.dumps(body), headers=headers)
    assert response.status_code == 415, response.text
    assert response.json()["detail"] == "Send the body as application/json"
    assert "set-cookie" not in response.headers
    assert (await account.client.get("/api/auth/me")).status_code == 200


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON"]
)
async def test_application_json_with_parameters_is_accepted(
    deployment: Deployment, account: Account, content_type: str
) -> None:
    async with httpx.AsyncClient(base_url=deployment.base_url) as client:
        response = await client.post(
            "/api/auth/login",
            content=json.dumps({"email": account.email, "password": PASSWORD}),
            headers={"Content-Type": content_type},
        )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("path", ["/api/auth/login", "/api/auth/register"])
async def test_sign_in_and_registration_from_another_origin_are_403(
    deployment: Deployment, path: str
) -> None:
    email = unique_email()
    async with httpx.AsyncClient(base_url=deployment.base_url) as client:
        await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
        body = {"email": email if path.endswith("login") else unique_email(), "password": PASSWORD}
        foreign = await client.post(path, json=body, headers={"Origin": "https://evil.example"})
        null = await client.post(path, json=body, headers={"Origin": "null"})
        cross_site = await client.post(path, json=body, headers={"Sec-Fetch-Site": "cross-site"})
        assert foreign.status_code == null.status_code == cross_site.status_code == 403
        assert foreign.json()["detail"] == "Cross-origin request refused"
        assert "set-cookie" not in foreign.headers
        same = await client.post(path, json=body, headers={"Origin": deployment.base_url})
    assert same.status_code in (200, 201), same.text


async def test_clients_that_send_no_origin_still_sign_in(deployment: Deployment) -> None:
    """curl and scripts send neither Origin nor Sec-Fetch-Site."""
    email = unique_email()
    async with httpx.AsyncClient(base_url=deployment.base_url) as client:
        created = await client.post(
            "/api/auth/register", json={"email": email, "password": PASSWORD}
        )
        signed_in = await client.post(
            "/api/auth/login", json={"email": email, "password": PASSWORD}
        )
    assert (created.status_code, signed_in.status_code) == (201, 200)


# --- only `Authorization: Bearer` ---------------------------------------------------------


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
async def test_the_bearer_scheme_in_any_case_authenticates(
    deployment: Deployment, account: Account, scheme: str
) -> None:
    async with httpx.AsyncClient(base_url=deployment.base_url) as client:
        response = await client.get(
            "/api/auth/me", headers={"Authorization": f"{scheme} {account.token}"}
        )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "header", ["Basic {token}", "Token {token}", "{token}", "Bearer", "Bearer  x"]
)
async def test_any_other_authorization_is_401_even_beside_a_valid_cookie(
    deployment: Deployment, account: Account, header: str
) -> None:
    async with httpx.AsyncClient(base_url=deployment.base_url) as client:
        alone = await client.get(
            "/api/auth/me", headers={"Authorization": header.format(token=account.token)}
        )
        client.cookies.set(AUTH_COOKIE, account.token)
        with_cookie = await client.get(
            "/api/auth/me", headers={"Authorization": header.format(token=account.token)}
        )
        cookie_only = await client.get("/api/auth/me")
    assert alone.status_code == with_cookie.status_code == 401
    assert cookie_only.status_code == 200


# --- registration switch, and e-mails that lower-casing lengthens ----------------------------


async def test_closed_registration_is_403_and_create_user_still_works(
    deployment: Deployment, account: Account
) -> None:
    email = unique_email()
    with live_app(deployment.settings, registration="closed") as closed:
        async with httpx.AsyncClient(base_url=closed.base_url) as client:
            refused = await client.post(
                "/api/auth/register", json={"email": email, "password": PASSWORD}
            )
            existing = await client.post(
                "/api/auth/login", json={"email": account.email, "password": PASSWORD}
            )
            assert refused.status_code == 403
            assert refused.json()["detail"] == (
                "Registration is closed; ask the administrator for an account"
            )
            assert existing.status_code == 200
            env = {
                **os.environ,
                **settings_env(deployment.settings),
                "REELVAULT_REGISTRATION": "closed",
            }
            made = create_user(email.upper(), env)
            assert made.returncode == 0, made.stdout + made.stderr
            assert f"Created {email}" in made.stdout
            signed_in = await client.post(
                "/api/auth/login", json={"email": email, "password": PASSWORD}
            )
    assert signed_in.status_code == 200


def create_user(email: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`reelvault create-user`, as an operator runs it (here as `litestar reelvault ...`)."""
    return subprocess.run(
        [sys.executable, "-m", "litestar", "reelvault", "create-user", "--email", email],
        cwd=ROOT,
        env={**env, "LITESTAR_APP": "reelvault.app:create_app"},
        input=f"{PASSWORD}\n{PASSWORD}\n",
        capture_output=True,
        text=True,
        timeout=120,
    )


# "İ" lower-cases to two code points: 212 characters as sent, 412 once normalised.
LENGTHENED = "İ" * 200 + "@example.com"


async def test_an_email_that_lower_casing_pushes_past_320_is_422(deployment: Deployment) -> None:
    async with httpx.AsyncClient(base_url=deployment.base_url) as client:
        registered = await client.post(
            "/api/auth/register", json={"email": LENGTHENED, "password": PASSWORD}
        )
        signed_in = await client.post(
            "/api/auth/login", json={"email": LENGTHENED, "password": PASSWORD}
        )
    assert registered.status_code == 422, registered.text
    assert signed_in.status_code == 401, signed_in.text


async def test_an_email_of_320_characters_once_lower_cased_is_accepted(
    deployment: Deployment,
) -> None:
    local = "İ" * 150 + uuid.uuid4().hex[:8]  # 308 characters once lower-cased
    email = local + "@example.com"
    assert len(email.lower()) == 320
    async with httpx.AsyncClient(base_url=deployment.base_url) as client:
        registered = await client.post(
            "/api/auth/register", json={"email": email, "password": PASSWORD}
        )
        signed_in = await client.post(
            "/api/auth/login", json={"email": email.lower(), "password": PASSWORD}
        )
    assert registered.status_code == 201, registered.text
    assert registered.json()["email"] == email.lower()
    assert signed_in.status_code == 200
