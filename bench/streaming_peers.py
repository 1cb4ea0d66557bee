"""The Python peers of `bench/streaming.py`: one video file behind a framework's own file response.

Each factory is started by uvicorn in its own process (`uvicorn --factory
bench.streaming_peers:starlette_app`) and serves the file named by `BENCH_STREAMING_FILE` at
`/video.mp4`. Imports stay inside the factories, so a peer's memory holds its framework alone;
annotations are evaluated eagerly (no `from __future__ import annotations`), so the frameworks
can read the handlers' types from those local imports.
"""

import os
from pathlib import Path
from typing import Any

FILE_ENV = "BENCH_STREAMING_FILE"
ROUTE = "/video.mp4"


def starlette_app() -> Any:
    """Starlette's FileResponse: ranges and multipart/byteranges since Starlette 0.39."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import FileResponse
    from starlette.routing import Route

    path = Path(os.environ[FILE_ENV])

    async def video(request: Request) -> FileResponse:
        return FileResponse(path, media_type="video/mp4")

    return Starlette(routes=[Route(ROUTE, video)])


def litestar_app() -> Any:
    """Litestar's `File` response: no Range support, every request gets the whole file."""
    from litestar import Litestar, get
    from litestar.response import File

    path = Path(os.environ[FILE_ENV])

    @get(ROUTE)
    async def video() -> File:
        return File(path, media_type="video/mp4", content_disposition_type="inline")

    return Litestar(route_handlers=[video])
