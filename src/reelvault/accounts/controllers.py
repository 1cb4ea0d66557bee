from __future__ import annotations

from typing import Any

from advanced_alchemy.extensions.litestar.providers import create_service_provider
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody, SkipValidation
from litestar.security.jwt import JWTCookieAuth

from reelvault.accounts.models import User
from reelvault.accounts.schemas import AccessToken, Account, Credentials, LoginCredentials
from reelvault.accounts.services import UserService
from reelvault.auth import AUTH_COOKIE


def to_account(user: User) -> Account:
    return Account(id=user.id, email=user.email, created_at=user.created_at)


class AuthController(Controller):
    path = "/api/auth"
    tags = ["Authentication"]
    dependencies = {"users": Provide(create_service_provider(UserService))}

    @post("/register", status_code=201, summary="Create an account")
    async def register(
        self, data: JSONBody[Credentials], users: NamedDependency[UserService]
    ) -> Account:
        return to_account(await users.register(data.email, data.password))

    @post("/login", status_code=200, summary="Sign in; the token comes back and as a cookie")
    async def login(
        self,
        data: JSONBody[LoginCredentials],
        users: NamedDependency[UserService],
        jwt_auth: NamedDependency[SkipValidation[JWTCookieAuth[User]]],
    ) -> Response[AccessToken]:
        user = await users.authenticate(data.email, data.password)
        token = jwt_auth.create_token(identifier=str(user.id))
        lifetime = int(jwt_auth.default_token_expiration.total_seconds())
        response = Response(AccessToken(access_token=token, expires_in=lifetime))
        response.set_cookie(
            key=AUTH_COOKIE,
            value=token,
            max_age=lifetime,
            path="/",
            httponly=True,
            secure=bool(jwt_auth.secure),
            samesite="strict",
        )
        return response

    @post(
        "/logout",
        status_code=204,
        summary="Sign out: the cookie is cleared",
        # A static expired cookie: declared here so the 204 stays bodiless in the schema too.
        response_cookies=[
            Cookie(key=AUTH_COOKIE, value="", max_age=0, path="/", httponly=True, samesite="strict")
        ],
    )
    async def logout(self) -> None:
        return None

    @get("/me", summary="The signed-in account")
    async def me(self, request: Request[User, Any, Any]) -> Account:
        return to_account(request.user)
