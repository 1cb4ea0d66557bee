"""JWT authentication (Bearer header or HttpOnly cookie) backed by server-side sessions, and
the cross-site defences of unsafe requests: the same-origin rule and JSON-only bodies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.exceptions import NotAuthorizedException
from litestar.middleware.authentication import AuthenticationResult
from litestar.security.jwt import JWTCookieAuth, JWTCookieAuthenticationMiddleware, Token
from sqlalchemy import bindparam, select

from reelvault.accounts.models import User, auth_session
from reelvault.errors import Forbidden, UnsupportedBody

if TYPE_CHECKING:
    from litestar.handlers.base import BaseRouteHandler
    from sqlalchemy.ext.asyncio import AsyncEngine

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
# Authenticated by worker keys instead (reelvault.workers.auth): a user's token is no use there.
WORKER_PATHS = ("^/api/worker/",)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a valid token names, proven by the token check: the session (the token's `jti`)
    exists, is unexpired and belongs to this account, which therefore exists too. No cache: a
    logout, a password change or a deleted account refuses the token at once, everywhere."""

    id: UUID
    session_id: UUID
    email: str
    created_at: datetime


_s = auth_session.c
_u = User.__table__.c
# One statement: the join also proves the account where a database runs without foreign keys
# (an SQLite connection without the PRAGMA), and brings what `current_user` answers.
_SESSION_CHECK = (
    select(_u.email, _u.created_at)
    .select_from(auth_session.join(User.__table__, _u.id == _s.user_id))
    .where(
        _s.id == bindparam("session_id"),
        _s.user_id == bindparam("user_id"),
        _s.expires_at > bindparam("now", type_=DateTimeUTC(timezone=True)),
    )
)


class BearerOrCookieAuthentication(JWTCookieAuthenticationMiddleware):
    """The token from `Authorization: Bearer <token>` (scheme case-insensitive) or, without an
    Authorization header, from the cookie. Any other scheme is a 401, not ignored in favour of
    the cookie: a client that says how it authenticates gets exactly that."""

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        header = connection.headers.get("authorization")
        if header is not None:
            scheme, _, token = header.strip().partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise NotAuthorizedException("Send the token as Authorization: Bearer <token>")
            return await self.authenticate_token(token.strip(), connection)
        token = connection.cookies.get(self.auth_cookie_key, "")
        if not token:
            raise NotAuthorizedException("No token in the Authorization header or the cookie")
        return await self.authenticate_token(token, connection)


def build_jwt_auth(settings: Settings, engine: AsyncEngine) -> JWTCookieAuth[Principal]:
    async def retrieve_user(
        token: Token, _connection: ASGIConnection[Any, Any, Any, Any]
    ) -> Principal | None:
        try:
            user_id, session_id = UUID(token.sub), UUID(str(token.jti))
        except ValueError:
            return None
        # A short connection of its own, not the request's session: nothing is held while
        # the handler runs or its body streams.
        async with engine.connect() as connection:
            row = (
                await connection.execute(
                    _SESSION_CHECK,
                    {"session_id": session_id, "user_id": user_id, "now": datetime.now(UTC)},
                )
            ).first()
        if row is None:
            return None
        return Principal(user_id, session_id, row.email, row.created_at)

    return JWTCookieAuth[Principal](
        retrieve_user_handler=retrieve_user,
        authentication_middleware_class=BearerOrCookieAuthentication,
        token_secret=settings.signing_key(),
        algorithm="HS256",
        key=AUTH_COOKIE,
        samesite=COOKIE_SAMESITE,
        secure=settings.behind_https,
        path=COOKIE_PATH,
        default_token_expiration=timedelta(seconds=settings.token_lifetime_seconds),
        require_claims=["exp", "iat", "sub", "jti"],
        exclude=[*PUBLIC_PATHS, *WORKER_PATHS],
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
    """Refuse a state-changing request from another origin, so that no other site can make a
    browser delete videos or sign it into the attacker's account (sign-in CSRF). A coroutine
    on purpose: Litestar runs a plain function guard in a worker thread.

    - A Bearer token is never sent by a browser on its own: always allowed.
    - An `Origin` that names another origin (or `null`), or without one a `Sec-Fetch-Site`
      that says another site: 403, cookie or not (sign-in and registration have none).
    - A request that only the cookie authenticates must also prove it comes from our origin.
    - Neither header and no cookie (curl, scripts): allowed.
    """
    if connection.scope.get("method", "GET") in SAFE_METHODS:
        return
    if connection.headers.get("authorization", "").lower().startswith("bearer "):
        return
    origin = connection.headers.get("origin")
    fetch_site = connection.headers.get("sec-fetch-site")
    if origin is not None:
        if _same_origin(origin, connection):
            return
        raise Forbidden("Cross-origin request refused")
    if fetch_site in ("cross-site", "same-site"):
        raise Forbidden("Cross-origin request refused")
    by_cookie = AUTH_COOKIE in connection.cookies and "user" in connection.scope
    if by_cookie and fetch_site != "same-origin":
        raise Forbidden("Cross-origin request refused")


JSON = "application/json"


async def json_bodies_only(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """A handler with a `data` body reads it only from an `application/json` request (415
    otherwise): a cross-site `<form enctype="text/plain">` cannot forge a JSON body. A handler
    that also takes other bodies names them all in `opt["body_media_types"]`; one that reads
    its body itself (the multipart import) declares no `data` and is not checked."""
    allowed = handler.opt.get("body_media_types")
    if allowed is None:
        if getattr(handler, "parsed_data_field", None) is None:
            return
        allowed = (JSON,)
    content_type = connection.headers.get("content-type", "")
    if media_type(content_type) not in allowed:
        raise UnsupportedBody(f"Send the body as {' or '.join(allowed)}")


def media_type(content_type: str) -> str:
    """`application/json; charset=utf-8` -> `application/json` (parameters allowed)."""
    return content_type.partition(";")[0].strip().lower()


def _same_origin(origin: str, connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    parts = urlsplit(origin)
    host = connection.headers.get("host", "")
    return parts.scheme == connection.url.scheme and parts.netloc.lower() == host.lower()
