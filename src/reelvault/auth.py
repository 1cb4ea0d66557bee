"""JWT authentication (Bearer header or HttpOnly cookie) and the same-origin rule for cookies."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from uuid import UUID

from litestar.connection import ASGIConnection
from litestar.security.jwt import JWTCookieAuth, Token

from reelvault.accounts.models import User
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


def build_jwt_auth(settings: Settings, db_config: SQLAlchemyAsyncConfig) -> JWTCookieAuth[User]:
    async def retrieve_user(
        token: Token, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> User | None:
        try:
            user_id = UUID(token.sub)
        except ValueError:
            return None
        session = db_config.provide_session(connection.app.state, connection.scope)
        return await session.get(User, user_id)

    return JWTCookieAuth[User](
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
