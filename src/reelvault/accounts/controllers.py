from __future__ import annotations

import logging

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, SkipValidation
from litestar.security.jwt import JWTCookieAuth

from reelvault.accounts.auth import auth_cookie, expired_auth_cookie
from reelvault.accounts.schemas import AccessToken, Account, Credentials, LoginCredentials
from reelvault.accounts.services import UserService
from reelvault.observability import log_event

logger = logging.getLogger("reelvault.accounts")


class AuthController(Controller):
    path = "/api/auth"
    tags = ["Authentication"]

    @post("/register", status_code=201, summary="Create an account")
    async def register(
        self, data: JSONBody[Credentials], users: NamedDependency[UserService]
    ) -> Account:
        return await users.register(data.email, data.password)

    @post("/login", status_code=200, summary="Sign in; the token comes back and as a cookie")
    async def login(
        self,
        data: JSONBody[LoginCredentials],
        users: NamedDependency[UserService],
        jwt_auth: NamedDependency[SkipValidation[JWTCookieAuth[Account]]],
    ) -> Response[AccessToken]:
        user_id = await users.authenticate(data.email, data.password)
        token = jwt_auth.create_token(identifier=str(user_id))
        lifetime = int(jwt_auth.default_token_expiration.total_seconds())
        return Response(
            AccessToken(access_token=token, expires_in=lifetime),
            cookies=[auth_cookie(jwt_auth, token, lifetime)],
        )

    @post(
        "/logout",
        status_code=204,
        summary="Sign out: the cookie is cleared",
        response_cookies=[expired_auth_cookie()],
    )
    async def logout(self, current_user: NamedDependency[SkipValidation[Account]]) -> None:
        # current_user: like every endpoint, a gone account's token is a 401 here too.
        log_event(logger, "logout", user_id=current_user.id)

    @get("/me", summary="The signed-in account")
    async def me(self, current_user: NamedDependency[SkipValidation[Account]]) -> Account:
        return current_user
