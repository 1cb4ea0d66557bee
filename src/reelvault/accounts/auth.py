"""JWT authentication (Bearer header or HttpOnly cookie) and the same-origin rule for cookies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit
from uuid import UUID

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.security.jwt import JWTCookieAuth, Token

from reelvault.errors import Forbidden

if TYPE_CHECKING:
    from litestar.handlers.base import BaseRouteHandler

    from reelvault.settings import Settings

# The session cookie's policy, in one place: the JWT auth object is built with it (and login
# reads it back from there); logout's expired cookie uses it too.
AUTH_COOKIE = "reelvault_token"
COOKIE_PATH = "/"
COOKIE_SAMESITE: Literal["strict"] = "strict"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC_PATHS = (
    "^/api/auth/login$",
    "^/api/auth/register$",
    "^/schema",
    "^/health",
    "^/metrics$",
)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a valid token names. Not yet proof that the account still exists: every handler
    proves it in its own first statement (the owner in the WHERE clause, a miss that tells a
    gone account's 401 from a missing item's 404), or takes `current_user`, which reads the
    account. No cache either way: a deleted account's token is refused at once, everywhere."""

    id: UUID


def build_jwt_auth(settings: Settings) -> JWTCookieAuth[Principal]:
    async def retrieve_user(
        token: Token, _connection: ASGIConnection[Any, Any, Any, Any]
    ) -> Principal | None:
        # No database here: the handler's own statement checks the account, so a request
        # costs one round trip, not a user lookup and then the real one.
        try:
            return Principal(UUID(token.sub))
        except ValueError:
            return None

    return JWTCookieAuth[Principal](
        retrieve_user_handler=retrieve_user,
        token_secret=settings.signing_key(),
        algorithm="HS256",
        key=AUTH_COOKIE,
        samesite=COOKIE_SAMESITE,
        secure=settings.behind_https,
        path=COOKIE_PATH,
        default_token_expiration=timedelta(seconds=settings.token_lifetime_seconds),
        require_claims=["exp", "iat", "sub"],
        exclude=list(PUBLIC_PATHS),
        # Litestar skips HEAD by default; our media HEAD answers must be authorised like GET.
        exclude_http_methods=["OPTIONS"],
    )


def auth_cookie(jwt_auth: JWTCookieAuth[Any], value: str, max_age: int) -> Cookie:
    """The session cookie, with the one policy the JWT auth object holds (name, path, SameSite,
    Secure): login sets it, logout clears it, and both stay in step."""
    return Cookie(
        key=jwt_auth.key,
        value=value,
        max_age=max_age,
        path=jwt_auth.path,
        httponly=True,
        secure=jwt_auth.secure,
        samesite=jwt_auth.samesite,
    )


def expired_auth_cookie() -> Cookie:
    """What logout sends. Without `Secure`: from an HTTPS origin a cookie without it still
    replaces a Secure one, so one static declaration serves every deployment (and the
    OpenAPI document shows logout as the bodiless 204 it is)."""
    return Cookie(
        key=AUTH_COOKIE,
        value="",
        max_age=0,
        path=COOKIE_PATH,
        httponly=True,
        samesite=COOKIE_SAMESITE,
    )


async def cookie_requests_from_own_origin(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Refuse a state-changing request that only a cookie authenticates, unless the browser says
    it comes from our own origin: no other site can make a signed-in browser delete videos.
    A coroutine on purpose: Litestar runs a plain function guard in a worker thread."""
    if connection.scope.get("method", "GET") in SAFE_METHODS:
        return
    if connection.headers.get("authorization", "").lower().startswith("bearer "):
        return
    if AUTH_COOKIE not in connection.cookies or "user" not in connection.scope:
        return  # not authenticated by the cookie (public endpoints such as login)
    origin = connection.headers.get("origin")
    if origin is not None:
        if _same_origin(origin, connection):
            return
    elif connection.headers.get("sec-fetch-site") == "same-origin":
        return
    raise Forbidden("Cross-origin request refused")


def _same_origin(origin: str, connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    parts = urlsplit(origin)
    host = connection.headers.get("host", "")
    return parts.scheme == connection.url.scheme and parts.netloc.lower() == host.lower()
