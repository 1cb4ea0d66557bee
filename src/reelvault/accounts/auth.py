"""JWT authentication (Bearer header or HttpOnly cookie) and the same-origin rule for cookies."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from uuid import UUID

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.security.jwt import JWTCookieAuth, Token
from sqlalchemy import bindparam, select

from reelvault.accounts.models import User
from reelvault.accounts.schemas import Account
from reelvault.errors import Forbidden

if TYPE_CHECKING:
    from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
    from litestar.handlers.base import BaseRouteHandler

    from reelvault.settings import Settings

AUTH_COOKIE = "reelvault_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC_PATHS = (
    "^/api/auth/login$",
    "^/api/auth/register$",
    "^/schema",
    "^/health",
    "^/metrics$",
)


_ACCOUNT_BY_ID = select(User.id, User.email, User.created_at).where(User.id == bindparam("user_id"))


def build_jwt_auth(settings: Settings, db_config: SQLAlchemyAsyncConfig) -> JWTCookieAuth[Account]:
    async def retrieve_user(
        token: Token, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> Account | None:
        """The account the token names, read on every request (no cache: a deleted account's
        token is refused at once, by every process). One Core statement on the request's own
        session, which the handler then reuses: no ORM identity map, no second connection."""
        try:
            user_id = UUID(token.sub)
        except ValueError:
            return None
        session = db_config.provide_session(connection.app.state, connection.scope)
        row = (await session.execute(_ACCOUNT_BY_ID, {"user_id": user_id})).first()
        if row is None:
            return None
        return Account(id=row.id, email=row.email, created_at=row.created_at)

    return JWTCookieAuth[Account](
        retrieve_user_handler=retrieve_user,
        token_secret=settings.signing_key(),
        algorithm="HS256",
        key=AUTH_COOKIE,
        samesite="strict",
        secure=settings.behind_https,
        path="/",
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


def cookie_requests_from_own_origin(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Refuse a state-changing request that only a cookie authenticates, unless the browser says
    it comes from our own origin: no other site can make a signed-in browser delete videos."""
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
