from __future__ import annotations

import logging
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, SkipValidation
from litestar.security.jwt import JWTCookieAuth

from reelvault.accounts.auth import Principal, auth_cookie, expired_auth_cookie
from reelvault.accounts.passwords import Passwords
from reelvault.accounts.schemas import (
    AccessToken,
    Account,
    Credentials,
    LoginCredentials,
    PasswordChange,
)
from reelvault.accounts.services import UserService
from reelvault.observability import log_event
from reelvault.settings import Settings

logger = logging.getLogger("reelvault.accounts")

Users = NamedDependency[UserService]
Hasher = NamedDependency[SkipValidation[Passwords]]


def client_address(request: Request[Any, Any, Any]) -> str:
    """The ASGI client: behind Nginx, uvicorn's proxy headers make it the real one."""
    return request.client.host if request.client else ""


class AuthController(Controller):
    path = "/api/auth"
    tags = ["Authentication"]

    @post("/register", status_code=201, summary="Create an account (unless registration is closed)")
    async def register(
        self,
        data: JSONBody[Credentials],
        users: Users,
        passwords: Hasher,
        settings: NamedDependency[SkipValidation[Settings]],
    ) -> Account:
        return await users.sign_up(data.email, data.password, passwords, settings.registration)

    @post("/login", status_code=200, summary="Sign in; the token comes back and as a cookie")
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[LoginCredentials],
        users: Users,
        passwords: Hasher,
        jwt_auth: NamedDependency[SkipValidation[JWTCookieAuth[Principal]]],
    ) -> Response[AccessToken]:
        signed_in = await users.sign_in(
            data.email,
            data.password,
            client_address(request),
            passwords,
            jwt_auth.default_token_expiration,
        )
        token = jwt_auth.create_token(
            identifier=str(signed_in.user_id),
            token_expiration=signed_in.lifetime,
            token_unique_jwt_id=str(signed_in.session_id),
        )
        lifetime = int(signed_in.lifetime.total_seconds())
        return Response(
            AccessToken(access_token=token, expires_in=lifetime),
            cookies=[auth_cookie(jwt_auth, token, lifetime)],
        )

    @post(
        "/logout",
        status_code=204,
        summary="Sign out: this token's session ends at once, and the cookie is cleared",
        response_cookies=[expired_auth_cookie()],
    )
    async def logout(self, request: Request[Principal, Any, Any], users: Users) -> None:
        await users.sign_out(request.user.session_id)
        log_event(logger, "logout", user_id=request.user.id)

    @post(
        "/password",
        status_code=204,
        summary="Change the password; every other session of the account ends",
    )
    async def change_password(
        self,
        request: Request[Principal, Any, Any],
        data: JSONBody[PasswordChange],
        users: Users,
        passwords: Hasher,
    ) -> None:
        await users.change_password(
            request.user.id,
            request.user.session_id,
            data.current_password,
            data.new_password,
            client_address(request),
            passwords,
        )
        log_event(logger, "password-change", user_id=request.user.id)

    @get("/me", summary="The signed-in account")
    async def me(self, current_user: NamedDependency[SkipValidation[Account]]) -> Account:
        return current_user
