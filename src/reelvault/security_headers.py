"""The browser-facing security headers, sent by the app itself: `make run` (direct mode) is as
safe as the deployment, where nginx.conf adds the same ones (and hides these, so each is sent
once)."""

from __future__ import annotations

from litestar.types import Message, Scope

# The gallery loads nothing from elsewhere, is never framed, and needs no inline script.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "media-src 'self'; connect-src 'self'; font-src 'self'; manifest-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# The interactive API docs (/schema) are Litestar's pages: their scripts, styles and fonts come
# from the jsDelivr CDN and they run an inline bootstrap script.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "img-src 'self' data: https://cdn.jsdelivr.net; font-src 'self' data: "
    "https://cdn.jsdelivr.net https://fonts.gstatic.com; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_COMMON = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)
_APP_HEADERS = ((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()), *_COMMON)
_DOCS_HEADERS = ((b"content-security-policy", DOCS_CONTENT_SECURITY_POLICY.encode()), *_COMMON)
_NAMES = frozenset(name for name, _ in _APP_HEADERS)


async def add_security_headers(message: Message, scope: Scope) -> None:
    """A before-send hook: on every answer, errors included. A handler's own value wins."""
    if message["type"] != "http.response.start":
        return
    headers = message.setdefault("headers", [])
    present = {name.lower() for name, _ in headers} & _NAMES
    wanted = _DOCS_HEADERS if scope.get("path", "").startswith("/schema") else _APP_HEADERS
    headers.extend(header for header in wanted if header[0] not in present)
