"""The gallery's one HTML document: served for its client routes, and with a 404 status for an
unknown address that a browser asks for (the page's router then shows "Page not found").
API clients, and every path under /api/, keep the JSON error."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from litestar import Request, Response, route
from litestar.datastructures.headers import Accept
from litestar.exceptions import NotFoundException
from litestar.response import File

CLIENT_ROUTES = ("/", "/login", "/gallery", "/gallery/{generation_id:str}")
_JSON_ONLY_PREFIXES = ("/api/", "/schema", "/health/", "/metrics")


def prefers_html(accept: str | None) -> bool:
    """Whether an Accept header ranks an HTML page above JSON (a browser's address bar does;
    `*/*`, a missing header and `application/json` do not)."""
    if not accept:
        return False
    return Accept(accept).best_match(["application/json", "text/html"]) == "text/html"


def wants_page(path: str, accept: str | None) -> bool:
    """Whether a not-found answer for `path` should be the gallery's page rather than JSON."""
    if path == "/api" or path.startswith(_JSON_ONLY_PREFIXES):
        return False
    return prefers_html(accept)


def _index(index: Path, status_code: int = 200) -> File:
    # Named and typed: without them the page is served as application/octet-stream.
    return File(
        index,
        filename="index.html",
        media_type="text/html",
        content_disposition_type="inline",
        status_code=status_code,
        headers={"Cache-Control": "no-cache"},
    )


def client_route_handler(index: Path) -> Any:
    @route(
        list(CLIENT_ROUTES),
        http_method=["GET", "HEAD"],
        include_in_schema=False,
        exclude_from_auth=True,
    )
    async def client_route() -> File:
        # Deep links of the gallery's History-API router load the same page.
        return _index(index)

    return client_route


def not_found_handler(
    index: Path, json_handler: Callable[[Request[Any, Any, Any], NotFoundException], Response[Any]]
) -> Callable[[Request[Any, Any, Any], NotFoundException], Response[Any]]:
    """An exception handler for unknown addresses: the page for browsers, `json_handler`'s
    answer for everyone else."""

    def handle(request: Request[Any, Any, Any], exc: NotFoundException) -> Response[Any]:
        if request.method in {"GET", "HEAD"} and wants_page(
            request.url.path, request.headers.get("accept")
        ):
            return _index(index, status_code=404)
        return json_handler(request, exc)

    return handle
