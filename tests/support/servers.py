"""The app served over real HTTP by uvicorn on a free port, in a thread of the test process."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from litestar import Litestar

from reelvault.app import create_app
from reelvault.server import BoundedHeadProtocol
from reelvault.settings import Settings
from reelvault.storage.store import MediaStore

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def settings_env(settings: Settings) -> dict[str, str]:
    return {
        "REELVAULT_DATA_DIR": str(settings.data_dir),
        "REELVAULT_MEDIA_DIR": str(settings.media_root),
        "REELVAULT_DATABASE_URL": settings.database_url,
        "REELVAULT_MEDIA_DELIVERY": settings.media_delivery,
        "REELVAULT_MAX_UPLOAD_BYTES": str(settings.max_upload_bytes),
        **(_s3_env(settings) if settings.storage == "s3" else {}),
    }


def _s3_env(settings: Settings) -> dict[str, str]:
    return {
        "REELVAULT_STORAGE": settings.storage,
        "REELVAULT_S3_ENDPOINT_URL": settings.s3_endpoint_url or "",
        "REELVAULT_S3_BUCKET": settings.s3_bucket,
        "REELVAULT_S3_REGION": settings.s3_region,
        "REELVAULT_S3_ACCESS_KEY_ID": settings.s3_access_key_id or "",
        "REELVAULT_S3_SECRET_ACCESS_KEY": settings.s3_secret_access_key or "",
        "REELVAULT_S3_PREFIX": settings.s3_prefix,
        "REELVAULT_S3_INTENT_GRACE_SECONDS": str(settings.s3_intent_grace_seconds),
    }


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a `litestar` command in a child process, as an operator would."""
    env = {**os.environ, **settings_env(settings), "LITESTAR_APP": "reelvault.app:create_app"}
    return subprocess.run(
        [sys.executable, "-m", "litestar", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )


MIGRATE = ("database", "upgrade", "--no-prompt")


def migrate(settings: Settings) -> None:
    run_cli(settings, *MIGRATE)


@dataclass(frozen=True)
class Uvicorn:
    """An ASGI app served by uvicorn in a thread of the test process."""

    server: uvicorn.Server
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass(frozen=True)
class LiveServer(Uvicorn):
    """The reelvault app, served: `settings` are the ones it runs with."""

    settings: Settings


@contextlib.contextmanager
def serving(app: Litestar, **options: Any) -> Iterator[Uvicorn]:
    """Serve `app` on a free port until the block ends; `options` go to uvicorn.Config."""
    port = free_port()
    defaults = {
        "log_level": "warning",
        "lifespan": "on",
        "timeout_graceful_shutdown": 2,
        "http": BoundedHeadProtocol,  # as `make run` and the image serve it
    }
    config = uvicorn.Config(app, host="127.0.0.1", port=port, **(defaults | options))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the app did not start")
            time.sleep(0.02)
        yield Uvicorn(server, port)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextlib.contextmanager
def live_app(
    settings: Settings,
    *,
    migrate: bool = False,
    store: MediaStore | None = None,
    **overrides: Any,
) -> Iterator[LiveServer]:
    """The app of `settings` (with `overrides` of its fields) served over HTTP until the block
    ends. `migrate` upgrades the database first, with the real CLI; `store` replaces the media
    store the app would build (a test's failing one)."""
    settings = dataclasses.replace(settings, **overrides) if overrides else settings
    if migrate:
        run_cli(settings, *MIGRATE)
    with serving(create_app(settings, store=store)) as served:
        yield LiveServer(served.server, served.port, settings)
